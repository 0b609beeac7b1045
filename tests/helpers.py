"""Small helpers shared by tests (imported as a module from tests/)."""
import pytest
import torch

from editnb.losses import masked_log_probs
from editnb.tokenization import encode_prompt_target, teacher_forced_batch


def memorize(model, tokenizer, prompt, target, *, steps=60, lr=3e-3):
    """Fine-tune every weight of a tiny model until it continues ``prompt`` with ``target``."""
    batch = teacher_forced_batch(tokenizer, [encode_prompt_target(tokenizer, prompt, target)])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = masked_log_probs(logits, batch["labels"])["nll"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


FLOAT_KEYS = {"nll", "prob", "rewrite_nll", "rewrite_prob"}


def assert_rows_equal(batched, reference):
    """Every metric identical; NLL and probabilities equal up to float rounding of the padded batch."""
    assert len(batched) == len(reference)
    for a, b in zip(batched, reference):
        assert a.keys() == b.keys()
        for key in a:
            if key == "probes":
                for pa, pb in zip(a[key], b[key]):
                    for k in pa:
                        if k in FLOAT_KEYS:
                            assert pa[k] == pytest.approx(pb[k], rel=1e-4, abs=1e-6), (a["id"], k)
                        else:
                            assert pa[k] == pb[k], (a["id"], a["protocol"], pa["role"], k)
            elif key in FLOAT_KEYS:
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6)
            else:
                assert a[key] == b[key], (a["id"], a["protocol"], key)


def snapshot(model):
    """Every parameter, cloned: what ``restore`` must give back bit for bit."""
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def assert_bit_identical(model, saved):
    for name, p in model.named_parameters():
        assert torch.equal(p, saved[name]), name
