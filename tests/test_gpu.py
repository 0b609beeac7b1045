"""A real edit on a 1B+ model in bfloat16 placed by accelerate, restored bit for bit.

The tests marked ``gpu`` run only where CUDA is present (``tests/conftest.py`` skips them
elsewhere, and ``make test`` lists the skip with its reason).  The model is
``EDITNB_GPU_MODEL`` (a Hugging Face id or folder) or the largest causal LM of 1B+
parameters already in the local Hugging Face cache.  The same check runs on the CPU with a
tiny model loaded through the same ``device_map`` path, so its body is tested everywhere."""
import os

import pytest
import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.models import load_model, tiny_model
from editnb.scoring import score_targets
from tests.helpers import assert_bit_identical, snapshot


def edit_then_restore(model, tok, editor, request):
    """Edit one fact: its target's NLL must fall; restore must give every weight back bit for bit."""
    saved = snapshot(model)
    before = score_targets(model, tok, request.prompt, [request.target_new])[0]["nll"]
    with editor.apply(model, tok, [request]) as edited:
        after = score_targets(edited, tok, request.prompt, [request.target_new])[0]["nll"]
    assert after < before - 0.5, (before, after)
    assert_bit_identical(model, saved)
    return before, after


def test_the_dispatch_path_edits_in_bfloat16_and_restores_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path / "cache"))
    model, tok = tiny_model("llama")
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    placed, placed_tok = load_model(tmp_path / "tiny", device_map="auto", dtype="bfloat16")
    assert next(placed.parameters()).dtype == torch.bfloat16
    edit_then_restore(placed, placed_tok, get_editor("FT-M"), load_embedded("test", n=1)[0])


def cached_model() -> str | None:
    """``EDITNB_GPU_MODEL``, else the largest 1B+ causal LM in the local Hugging Face cache."""
    if os.environ.get("EDITNB_GPU_MODEL"):
        return os.environ["EDITNB_GPU_MODEL"]
    from huggingface_hub import scan_cache_dir

    try:
        repos = [r for r in scan_cache_dir().repos if r.repo_type == "model" and r.size_on_disk >= 2e9]
    except Exception:  # no cache folder at all
        return None
    return max(repos, key=lambda r: r.size_on_disk).repo_id if repos else None


@pytest.mark.gpu
@pytest.mark.parametrize("editor_name, hparams", [("FT-M", {}), ("ROME", {"stats_tokens": 20_000})])
def test_a_real_edit_of_a_1b_model_in_bfloat16_on_the_gpu_restores_bit_for_bit(editor_name, hparams):
    name = cached_model()
    if name is None:
        pytest.skip("no 1B+ model in the local Hugging Face cache (set EDITNB_GPU_MODEL)")
    model, tok = load_model(name, device_map="auto", dtype="bfloat16")
    assert any(p.device.type == "cuda" for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) >= 1e9
    before, after = edit_then_restore(model, tok, get_editor(editor_name, **hparams), load_embedded("test", n=1)[0])
    print(f"{name}, {editor_name}: target NLL {before:.2f} -> {after:.2f}; restored bit for bit")
