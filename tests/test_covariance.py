import pytest
import torch

from editnb.editors.locate import covariance
from editnb.models import tiny_model

TEXTS = ["The quick brown fox jumps over the lazy dog near the river bank today.",
         "Paris is the capital of France and Rome is the capital of Italy, people say.",
         "A short line", "Numbers like 12 and 345 appear in many articles about history and science."]


def keys_directly(model, tok, module, chunks):
    """Every input row of ``module`` over the chunks, one chunk at a time (no padding)."""
    seen = []
    handle = model.get_submodule(module).register_forward_pre_hook(lambda m, a: seen.append(a[0][0].double()))
    with torch.no_grad():
        for c in chunks:
            model(input_ids=torch.tensor([c]))
    handle.remove()
    return torch.cat(seen)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_second_moment_equals_keys_outer_product_in_float64(tiny_models, arch):
    model, tok = tiny_models[arch]
    module = covariance.mlp_out_module(model, None)
    chunks = covariance.token_chunks(tok, TEXTS, seq_len=12, max_tokens=60)
    assert sum(map(len, chunks)) == 60 and all(8 <= len(c) <= 12 for c in chunks)
    moments, snaps = covariance.accumulate(model, tok, [module], chunks, batch_size=3, checkpoints=(20,))
    moment = moments[module]
    k = keys_directly(model, tok, module, chunks)
    assert moment.total.dtype == torch.float64 and moment.n == k.shape[0] == 60
    torch.testing.assert_close(moment.moment, k.T @ k / 60, rtol=1e-5, atol=1e-8)
    n, first = snaps[0]
    assert 20 <= n < 60
    torch.testing.assert_close(first[module].total, k[:n].T @ k[:n], rtol=1e-5, atol=1e-8)


def test_statistics_are_cached_per_model_and_never_shared(tmp_path, monkeypatch):
    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path))
    a, tok = tiny_model("llama", seed=0)
    b, _ = tiny_model("llama", seed=1)
    first = covariance.second_moment(a, tok, corpus="model", n_tokens=64, seq_len=16)
    files = list((tmp_path / "stats").rglob("*.pt"))
    assert len(files) == 1 and first.n == 64
    monkeypatch.setattr(covariance, "accumulate", lambda *a, **k: pytest.fail("recomputed a cached C"))
    again = covariance.second_moment(a, tok, corpus="model", n_tokens=64, seq_len=16)
    assert torch.equal(again.total, first.total)
    monkeypatch.undo()
    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path))
    other = covariance.second_moment(b, tok, corpus="model", n_tokens=64, seq_len=16)  # same name, other weights
    assert len(list((tmp_path / "stats").rglob("*.pt"))) == 2 and not torch.equal(other.total, first.total)


def test_unknown_corpus_and_architecture_are_named():
    model, tok = tiny_model("llama")
    with pytest.raises(ValueError, match="corpus must be one of"):
        covariance.second_moment(model, tok, corpus="books", cache=False)
    model.config.model_type = "falcon"
    with pytest.raises(ValueError, match="'falcon'"):
        covariance.mlp_out_module(model, 0)


def test_wiki_sample_is_clean_english_text():
    from editnb.data.wiki import wiki_articles

    articles = wiki_articles()
    assert len(articles) > 100
    text = "\n".join(articles)
    assert len(text) > 1_000_000 and "Anarchism is a political philosophy" in text
    assert not any(mark in text for mark in ("[[", "{{", "'''", "<ref"))
