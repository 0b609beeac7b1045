"""MEND: training changes the editor network, an edit touches only the edited projections and
is restored bit for bit, edits add up, and edit-parallel edits give the rows of one at a time.

Tolerances: ΔW is formed in float64 and added to float32 weights, while ``apply_each`` adds
(x ũᵀ)(−η δ̃) to the projection's float32 output; the two differ by float32 rounding, far
below the 1e-4 relative bound used here (measured about 1e-7)."""
import pytest
import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.mend import MEND, edited_modules, make_network
from editnb.editors.mend_train import cache_path, load_or_train, train_mend
from editnb.evaluate import evaluate, pre_edit
from editnb.models import tiny_model

from .test_each import CONFIG, assert_same_rows, one_at_a_time, tagged_orders
from .test_editors import assert_bit_identical, snapshot

HP = dict(steps=6, eval_every=3, batch_size=4, n_norm=8, rank=16)


@pytest.fixture(scope="module")
def data():
    return load_embedded("train", n=24), load_embedded("dev", n=6), load_embedded("test", n=5)


def trained(arch, data, **hp):
    model, tok = tiny_model(arch)
    editor = get_editor("MEND", **(HP | hp))
    net, history = train_mend(model, tok, editor.hparams, data[0], data[1])
    editor._networks[id(model)] = (model, net)
    return model, tok, editor, net, history


def test_one_training_step_changes_the_editor_network(data):
    model, tok = tiny_model("llama")
    hp = get_editor("MEND", **(HP | dict(steps=1, eval_every=1))).hparams
    torch.manual_seed(hp.seed)
    untrained = make_network(model, hp).state_dict()
    net, history = train_mend(model, tok, hp, data[0], data[1])
    state = net.state_dict()
    changed = [k for k in state if not torch.equal(state[k], untrained[k])]
    assert "edit_lrs" in changed
    assert any(k.startswith("layers.") for k in changed)  # the network's own weights, not only its steps
    assert [h["step"] for h in history] == [0, 1] and "dev_loss" in history[0]


def test_training_leaves_the_model_as_it_was(data):
    model, tok = tiny_model("gpt2")
    saved, flags = snapshot(model), {n: p.requires_grad for n, p in model.named_parameters()}
    train_mend(model, tok, get_editor("MEND", **HP).hparams, data[0], data[1])
    assert_bit_identical(model, saved)
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_an_edit_changes_only_the_edited_projections_and_restores_bit_for_bit(data, arch):
    model, tok, editor, _, _ = trained(arch, data)
    saved = snapshot(model)
    targets = {n + ".weight" for n in edited_modules(model, editor.hparams.n_layers)}
    with editor.apply(model, tok, data[2][:1]):
        changed = {n for n, p in model.named_parameters() if not torch.equal(p, saved[n])}
    assert changed == targets
    assert_bit_identical(model, saved)


def test_a_batch_edit_is_the_sum_of_single_edits(data):
    model, tok, editor, _, _ = trained("llama", data)
    saved = snapshot(model)
    names = [n + ".weight" for n in edited_modules(model, editor.hparams.n_layers)]
    singles = []
    for r in data[2][:2]:
        with editor.apply(model, tok, [r]):
            singles.append({n: dict(model.named_parameters())[n] - saved[n] for n in names})
    with editor.apply(model, tok, data[2][:2]):
        for n in names:
            together = dict(model.named_parameters())[n] - saved[n]
            expected = singles[0][n] + singles[1][n]
            assert (together - expected).norm() < 1e-4 * expected.norm(), n


def test_sequential_edits_take_each_gradient_on_the_edited_model(data):
    model, tok, editor, _, _ = trained("llama", data)
    names = [n + ".weight" for n in edited_modules(model, editor.hparams.n_layers)]
    with editor.apply(model, tok, data[2][:2], sequential=True):
        at_once = {n: dict(model.named_parameters())[n].clone() for n in names}
    with editor.apply(model, tok, data[2][:1]) as first:
        with editor.apply(first, tok, data[2][1:2]) as second:
            assert second is first and len(second.requests) == 2
            for n in names:
                assert torch.equal(dict(model.named_parameters())[n], at_once[n]), n


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_each_equals_one_at_a_time(data, arch):
    model, tok, editor, _, _ = trained(arch, data)
    saved = snapshot(model)
    requests = data[2]
    pre = pre_edit(model, tok, requests, CONFIG)
    _, _, single = one_at_a_time(editor, model, tok, requests, pre)
    with editor.apply_each(model, tok, requests, batch_size=3) as edited:  # two batches of gradients
        assert_bit_identical(model, saved)  # the weights are never written
        each = evaluate(edited, tok, requests, pre=pre, config=CONFIG)
    assert_same_rows(single, each)
    assert_bit_identical(model, saved)


def test_rows_see_their_own_edit(data):
    """A row of apply_each's batch gives the logits of the in-place edit of its request."""
    model, tok, editor, _, _ = trained("llama", data)
    x = torch.tensor([[5, 6, 7, 8]])
    with editor.apply_each(model, tok, data[2][:2]) as edited, torch.no_grad():
        with edited.rows([1, 0]):
            both = edited(input_ids=x.repeat(2, 1)).logits
    for k in (0, 1):
        with editor.apply(model, tok, data[2][k:k + 1]), torch.no_grad():
            alone = model(input_ids=x).logits[0]
        torch.testing.assert_close(both[1 - k], alone, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(both[0], both[1])


def test_the_trained_network_is_cached(data, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path))
    model, tok = tiny_model("llama")
    editor = get_editor("MEND", **(HP | dict(n_train=8)))
    hp = editor.hparams
    with editor.apply_each(model, tok, data[2][:2]):  # the first use trains on the embedded splits, caches
        first = editor.network(model, tok)
    assert cache_path(model, hp).is_file() and str(cache_path(model, hp)).startswith(str(tmp_path))
    second = load_or_train(model, tok, hp)
    for k, v in first.state_dict().items():
        assert torch.equal(v, second.state_dict()[k]), k
    assert second.history == first.history
    assert isinstance(get_editor("MEND"), MEND)


def test_streams_equal_sequential_edits(data):
    """Two orders of three edits side by side, continued across two calls, against each order
    applied with sequential=True: the same update per stream (ΔW from the stream's factors)."""
    model, tok, editor, _, _ = trained("llama", data)
    saved = snapshot(model)
    names = edited_modules(model, editor.hparams.n_layers)
    orders = tagged_orders(data[2])
    expected = []
    for order in orders:
        with editor.apply(model, tok, order, sequential=True):
            expected.append([dict(model.named_parameters())[n + ".weight"] - saved[n + ".weight"] for n in names])
    edited = editor.apply_streams(model, tok, [order[:1] for order in orders])
    edited = editor.apply_streams(edited, tok, [order[1:] for order in orders])
    assert edited.slots == orders
    for k, changes in enumerate(expected):
        for hook, change in zip(edited.hooks, changes):
            u, d = hook.factors[k]
            assert len(u) > 0 and ((d.T @ u) - change).norm() < 1e-4 * change.norm()
    edited.restore()
    assert_bit_identical(model, saved)
