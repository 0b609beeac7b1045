import pytest
import torch
import torch.nn.functional as F

from editnb.losses import IGNORE_INDEX, balanced_bce_loss, kl_loc_loss, masked_log_probs, per_example_log_probs


def random_batch(batch=4, time=9, vocab=23, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, time, vocab, generator=g)
    labels = torch.randint(0, vocab, (batch, time), generator=g)
    drop = torch.rand(batch, time, generator=g) < 0.4
    labels[drop] = IGNORE_INDEX
    labels[:, -1] = 3  # every row keeps at least one counted token after the shift
    return logits, labels


@pytest.mark.parametrize("shift", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nll_equals_cross_entropy(shift, seed):
    logits, labels = random_batch(seed=seed)
    out = masked_log_probs(logits, labels, shift=shift)
    lg, lb = (logits[:, :-1], labels[:, 1:]) if shift else (logits, labels)
    expected = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), lb.reshape(-1), ignore_index=IGNORE_INDEX)
    assert torch.allclose(out["nll"], expected, atol=1e-6)
    assert torch.allclose(out["log_prob"], -expected, atol=1e-6)
    assert out["n_tokens"] == (lb != IGNORE_INDEX).sum()


def test_prob_and_accuracy_by_hand():
    logits = torch.log(torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]]))
    labels = torch.tensor([[IGNORE_INDEX, 1, 0]])  # shift: position 0 predicts 1 (argmax 0: wrong), position 1 predicts 0 (wrong)
    out = masked_log_probs(logits, labels)
    assert out["acc"].item() == 0.0
    assert out["prob"].item() == pytest.approx((0.2 + 0.1) / 2)
    labels = torch.tensor([[IGNORE_INDEX, 0, 1]])
    out = masked_log_probs(logits, labels)
    assert out["acc"].item() == 1.0
    assert out["nll"].item() == pytest.approx(-(torch.log(torch.tensor(0.7)) + torch.log(torch.tensor(0.8))).item() / 2)


def test_gradients_flow():
    logits, labels = random_batch()
    logits.requires_grad_(True)
    masked_log_probs(logits, labels)["nll"].backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    # masked positions get no gradient
    grad_rows = logits.grad[:, :-1].abs().sum(-1)
    assert torch.all(grad_rows[labels[:, 1:] == IGNORE_INDEX] == 0)


def test_left_and_right_padding_give_same_per_example_nll():
    g = torch.Generator().manual_seed(5)
    lengths = [3, 6, 4]
    vocab, width = 11, 8
    rows = [(torch.randn(n, vocab, generator=g), torch.randint(0, vocab, (n,), generator=g)) for n in lengths]
    def padded(left):
        logits = torch.randn(len(rows), width, vocab, generator=g)  # padding logits are noise
        labels = torch.full((len(rows), width), IGNORE_INDEX)
        for i, (lg, lb) in enumerate(rows):
            sl = slice(width - len(lb), width) if left else slice(0, len(lb))
            logits[i, sl], labels[i, sl] = lg, lb
            labels[i, sl.start] = IGNORE_INDEX  # first token is the prompt
        return logits, labels
    left = per_example_log_probs(*padded(True))
    right = per_example_log_probs(*padded(False))
    assert torch.allclose(left["nll"], right["nll"], atol=1e-6)
    assert torch.equal(left["n_tokens"], right["n_tokens"])


def test_exact_match_hand_made():
    # vocab 3; predictions are argmax of logits at each (unshifted) position
    logits = torch.tensor([
        [[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]],   # predicts 0 1 2
        [[5.0, 0, 0], [5.0, 0, 0], [0, 0, 5.0]],   # predicts 0 0 2
        [[0, 5.0, 0], [0, 5.0, 0], [0, 5.0, 0]],   # predicts 1 1 1
    ])
    labels = torch.tensor([
        [0, 1, 2],                   # all right
        [0, 1, 2],                   # one wrong
        [IGNORE_INDEX, IGNORE_INDEX, 1],  # only counted token right
    ])
    out = masked_log_probs(logits, labels, shift=False, exact_match=True)
    assert out["acc"].item() == pytest.approx(2 / 3)
    micro = masked_log_probs(logits, labels, shift=False)
    assert micro["acc"].item() == pytest.approx(6 / 7)
    per = per_example_log_probs(logits, labels, shift=False)
    assert per["exact_match"].tolist() == [1.0, 0.0, 1.0]
    assert per["acc"].tolist() == pytest.approx([1.0, 2 / 3, 1.0])


def test_micro_and_per_example_disagree():
    logits = torch.zeros(2, 5, 2)
    logits[..., 0] = 1.0  # always predicts token 0
    labels = torch.tensor([[0, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX], [1, 1, 1, 0, IGNORE_INDEX]])
    micro = masked_log_probs(logits, labels, shift=False)["acc"].item()
    per = per_example_log_probs(logits, labels, shift=False)["acc"].mean().item()
    assert micro == pytest.approx(2 / 5) and per == pytest.approx((1 + 0.25) / 2)


def test_no_counted_token_raises():
    logits = torch.randn(2, 4, 5)
    labels = torch.full((2, 4), IGNORE_INDEX)
    with pytest.raises(ValueError, match="no counted token"):
        masked_log_probs(logits, labels)
    labels[0, 2] = 1
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        per_example_log_probs(logits, labels)
    with pytest.raises(ValueError, match="no counted token"):
        kl_loc_loss(logits, logits, torch.zeros(2, 4))


def test_kl_loc_loss():
    pre = torch.randn(2, 3, 7)
    assert kl_loc_loss(pre, pre.clone(), torch.ones(2, 3)).item() == pytest.approx(0.0, abs=1e-6)
    post = torch.randn(2, 3, 7, requires_grad=True)
    mask = torch.tensor([[1, 0, 1], [0, 0, 1]])
    loss = kl_loc_loss(pre, post, mask)
    p, q = pre.log_softmax(-1), post.log_softmax(-1)
    expected = F.kl_div(q, p, log_target=True, reduction="none").sum(-1)[mask.bool()].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert post.grad[0, 1].abs().sum() == 0 and post.grad[0, 0].abs().sum() > 0


def test_balanced_bce():
    scores = torch.tensor([2.0, -1.0, -3.0, -2.0])
    targets = torch.tensor([1, 0, 0, 0])
    expected = 0.5 * (F.softplus(-scores[:1]).mean() + F.softplus(scores[1:]).mean())
    assert balanced_bce_loss(scores, targets).item() == pytest.approx(expected.item())
    with pytest.raises(ValueError):
        balanced_bce_loss(scores, torch.zeros(4))
