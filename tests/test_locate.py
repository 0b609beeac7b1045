"""ROME, MEMIT and AlphaEdit on tiny models: the closed forms, edit-parallel equivalence, restore,
and EasyEdit's pitfalls (padding by model name, tied embeddings, float16 statistics, a
projection file reused across models)."""
import shutil

import pytest
import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.locate import covariance, keys, memit
from editnb.models import tiny_model
from tests.helpers import assert_bit_identical, snapshot

SMALL = dict(stats_corpus="model", stats_tokens=512, contexts_per_length=2, context_lengths=(4,), v_steps=12)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: the tiny models' statistics and prefixes are computed once."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDITNB_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def requests():
    return load_embedded("test", n=3)



def layers_of(model, editor):
    return memit.edit_layers(model, editor.hparams) if isinstance(editor, memit.MEMIT) else [None]


def weight_change(model, before, editor):
    """Each edited module's W' - W (weight layout) after an in-place edit."""
    from editnb.editors.locate.rome import rome_layer

    names = ([covariance.mlp_out_module(model, layer) for layer in memit.edit_layers(model, editor.hparams)]
             if isinstance(editor, memit.MEMIT) else [covariance.mlp_out_module(model, rome_layer(model, None))])
    return {n: model.get_submodule(n).weight.detach() - before[n + ".weight"] for n in names}


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_values_from_cached_prefixes_equal_values_from_whole_rows(tiny_models, requests, arch):
    """v* with the tokens before the subject run once (their keys and values cached) is v* with
    whole rows at every step.  Tolerance 1e-4 relative: the two runs sum attention over the
    same keys in different orders (float32), and 12 Adam steps carry that rounding along."""
    from editnb.editors.locate import values
    from editnb.editors.locate.rome import ROMEHParams
    from editnb.editors.suffix import Suffix

    model, tok = tiny_models[arch]
    assert Suffix(model, 1).caches_prefix  # else the test would compare the whole-row path with itself
    module = covariance.mlp_out_module(model, 1)
    prefixes = ["", "Some context words here. ", "A second and longer prefix, written out. "]
    hp = ROMEHParams(v_steps=12, stop_nll=0.5)
    cut = values.optimise_values(model, tok, module, 1, requests, prefixes, hp)
    whole = values.optimise_values(model, tok, module, 1, requests, prefixes, hp, split=False)
    for a, b in zip(cut, whole):
        assert a.steps == b.steps
        assert b.delta.norm() > 0
        torch.testing.assert_close(a.delta, b.delta, rtol=1e-4, atol=1e-5 * b.delta.norm().item())
        assert abs(a.nll - b.nll) <= 1e-4 * max(1.0, abs(b.nll))


@pytest.mark.parametrize("name", ["ROME", "MEMIT", "AlphaEdit"])
@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_apply_each_equals_one_edit_at_a_time_and_restores_bit_for_bit(cache, requests, name, arch):
    """K edits made side by side give each edit the weights its own single apply gives.
    Tolerance: v* is optimised with all K edits' rows in one batch, so matmuls sum in another
    order; Adam turns that rounding into steps of up to lr in a coordinate near a zero
    gradient.  ||ΔW_each - ΔW_single|| < 1e-3 ||ΔW_single|| (Frobenius) bounds it."""
    model, tok = tiny_model(arch)
    saved = snapshot(model)
    hp = SMALL | (dict(layers=(1, 2)) if name != "ROME" else {})
    editor = get_editor(name, **hp)
    singles, steps = [], []
    for r in requests:
        with editor.apply(model, tok, [r]) as edited:
            singles.append(weight_change(model, saved, editor))
            steps.append(edited.updates[0]["steps"])
        assert_bit_identical(model, saved)
    shutil.rmtree(cache / "values")  # v* optimised side by side, not read back from the single edits
    with editor.apply_each(model, tok, requests) as each:
        assert_bit_identical(model, saved)  # the base weights are never written
        assert each.steps == steps
        hooks = each.deltas if isinstance(each.deltas, list) else [each.deltas]
        for k, single in enumerate(singles):
            for hook, (module_name, change) in zip(hooks, single.items()):
                assert hook.module is model.get_submodule(module_name)
                got = hook.deltas[k]
                assert torch.linalg.norm(got - change) <= 1e-3 * torch.linalg.norm(change), (k, module_name)
    assert_bit_identical(model, saved)


def test_memit_batch_is_one_update_per_layer(cache, requests):
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    editor = get_editor("MEMIT", layers=(1, 2, 3), **SMALL)
    stats = [m.moment for m in covariance.second_moments(model, tok, [1, 2, 3], corpus="model", n_tokens=512)]
    with editor.apply(model, tok, requests) as edited:
        (record,) = edited.layer_updates  # one batch: one update per layer
        for i, (layer, (name, change)) in enumerate(zip(record, weight_change(model, saved, editor).items())):
            assert layer["keys"].shape[0] == len(requests)
            lam = editor.mom2_weight(layer["keys"].shape[1])
            assert lam == model.config.intermediate_size  # mom2_per_dim = 1 by default
            expected = memit.memit_update(stats[i], layer["keys"], layer["residuals"], lam)
            torch.testing.assert_close(change.double(), expected, rtol=1e-4, atol=1e-6)
            assert torch.linalg.matrix_rank(change.double(), rtol=1e-6) <= len(requests)
    assert_bit_identical(model, saved)


def top_eigen_keys(C, n=8):
    values, vectors = torch.linalg.eigh(C.double())
    return vectors[:, -n:] * values[-n:].sqrt()  # (d_in, n): keys the text statistics are made of


def test_alphaedit_leaves_the_keys_of_c_alone_unlike_memit(cache, requests):
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    layers = (1, 2)
    stats = [m.moment for m in covariance.second_moments(model, tok, list(layers), corpus="model", n_tokens=512)]
    ratios = []
    changes = {}
    for name in ("MEMIT", "AlphaEdit"):
        editor = get_editor(name, layers=layers, **SMALL)
        with editor.apply(model, tok, requests):
            changes[name] = list(weight_change(model, saved, editor).values())
    for i, C in enumerate(stats):
        K0 = top_eigen_keys(C)
        memit_effect = torch.linalg.norm(changes["MEMIT"][i].double() @ K0)
        alpha_effect = torch.linalg.norm(changes["AlphaEdit"][i].double() @ K0)
        assert memit_effect > 0 and torch.linalg.norm(changes["AlphaEdit"][i]) > 0
        ratios.append(float(memit_effect / alpha_effect))
    assert min(ratios) >= 100, ratios


def test_alphaedit_sequential_keys_live_in_the_edited_model(cache, requests):
    model, tok = tiny_model("llama")
    editor = get_editor("AlphaEdit", layers=(1, 2), **SMALL)
    first = editor.apply(model, tok, requests[:1])
    assert set(first.prior_keys) == {0, 1}
    k = first.layer_updates[0][0]["keys"].double()
    torch.testing.assert_close(first.prior_keys[0], k.T @ k)
    again = editor.apply(first, tok, requests[1:2])
    assert again is first and len(first.layer_updates) == 2
    k2 = first.layer_updates[1][0]["keys"].double()
    torch.testing.assert_close(first.prior_keys[0], k.T @ k + k2.T @ k2)
    first.restore()
    fresh = editor.apply(model, tok, requests[1:2])  # a new EditedModel starts with no earlier keys
    torch.testing.assert_close(fresh.prior_keys[0], k2.T @ k2, rtol=1e-5, atol=1e-8)
    fresh.restore()


def test_null_space_is_a_fraction_of_the_spectrum_and_never_shared_across_models(cache):
    a, tok = tiny_model("llama", seed=0)
    b, _ = tiny_model("llama", seed=1)  # the same name, other weights
    hp = memit.AlphaEditHParams(stats_corpus="model", stats_tokens=512, null_energy=0.05)
    module = covariance.mlp_out_module(a, 1)
    Ca = covariance.second_moment(a, tok, 1, corpus="model", n_tokens=512).moment
    Cb = covariance.second_moment(b, tok, 1, corpus="model", n_tokens=512).moment
    Pa, Pb = memit.null_space(a, module, Ca, hp), memit.null_space(b, module, Cb, hp)
    assert not torch.allclose(Pa, Pb)
    for model in (a, b):  # each projection is filed under its own model's weight fingerprint
        assert (cache / "stats" / f"null-{covariance.fingerprint(model)}").is_dir()
    # the kept directions hold at most null_energy of the trace, for a C of any scale
    for scale in (1e-4, 1.0, 1e4):
        P = memit.null_projection(Ca * scale, 0.05)
        assert torch.trace(P @ Ca.double() @ P) <= 0.05 * torch.trace(Ca.double()) + 1e-9
        torch.testing.assert_close(P, memit.null_projection(Ca, 0.05))
    torch.testing.assert_close(Pa @ Pa, Pa)  # a projection
    with pytest.raises(ValueError, match="null_energy"):
        memit.null_projection(Ca, 1.5)


@pytest.mark.parametrize("name", ["ROME", "MEMIT"])
def test_padding_side_and_model_name_do_not_change_an_edit(cache, requests, name):
    """EasyEdit picks the padding side from the model's name; here every batch is left-padded
    with explicit positions, whatever the tokenizer says and whatever the model is called."""
    results = []
    for side, path in (("left", "tiny"), ("right", "HuggingFaceTB/SmolLM2-135M-Instruct")):
        model, tok = tiny_model("llama")
        model.config._name_or_path = path
        tok.padding_side = side
        editor = get_editor(name, **SMALL | (dict(layers=(1, 2)) if name == "MEMIT" else {}))
        with editor.apply(model, tok, requests[:2]) as edited:
            results.append([u["nll"] for u in edited.updates])
    assert results[0] == pytest.approx(results[1], rel=1e-5)


def test_batched_keys_equal_keys_read_one_unpadded_prompt_at_a_time(tiny_models, requests):
    model, tok = tiny_models["llama"]
    module = covariance.mlp_out_module(model, 1)
    prefixes = ["", "A longer context prefix here. "]
    together = keys.at_subjects(model, tok, module, requests, prefixes)
    for i, r in enumerate(requests):
        torch.testing.assert_close(together[i], keys.subject_key(model, tok, module, r, prefixes), rtol=1e-5, atol=1e-6)
        before, after = keys.subject_parts(r)
        alone = [keys.activations_at(model, tok, module, [keys.located(tok, p, before, r.subject, after)[1:]])[0]
                 for p in prefixes]
        torch.testing.assert_close(together[i], torch.stack(alone).mean(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["ROME", "MEMIT", "AlphaEdit"])
def test_tied_embeddings_stay_tied_and_untouched(cache, requests, name):
    """SmolLM2's LM head is its input embedding: an editor of MLP weights must leave both."""
    model, tok = tiny_model("llama", tie_word_embeddings=True)
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    saved = snapshot(model)
    editor = get_editor(name, **SMALL | (dict(layers=(1, 2)) if name != "ROME" else {}))
    with editor.apply(model, tok, requests[:1]):
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
        assert torch.equal(model.get_input_embeddings().weight, saved["model.embed_tokens.weight"])
        changed = {n for n, p in model.named_parameters() if not torch.equal(p, saved[n])}
        assert changed and all(".mlp." in n for n in changed)
    assert_bit_identical(model, saved)


def test_statistics_of_a_half_precision_model_are_accumulated_in_float64(cache):
    model, tok = tiny_model("llama")
    half = tiny_model("llama")[0].to(torch.bfloat16)
    chunks = covariance.token_chunks(tok, ["The capital of France is Paris, and Rome is in Italy. " * 4], 16, 48)
    module = covariance.mlp_out_module(model, 1)
    seen = []
    handle = half.get_submodule(module).register_forward_pre_hook(lambda m, a: seen.append(a[0][0]))
    with torch.no_grad():
        for c in chunks:
            half(input_ids=torch.tensor([c]))
    handle.remove()
    keys_half = torch.cat(seen).double()
    sums, _ = covariance.accumulate(half, tok, [module], chunks, batch_size=1)
    assert sums[module].total.dtype == torch.float64
    torch.testing.assert_close(sums[module].total, keys_half.T @ keys_half, rtol=1e-12, atol=1e-12)
    # a float16 accumulation of the same keys would lose the small eigenvalues
    low = (keys_half.half().T @ keys_half.half()).double()
    assert not torch.allclose(low, keys_half.T @ keys_half, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", ["ROME", "MEMIT", "AlphaEdit"])
def test_later_edits_reuse_the_unedited_models_statistics_and_prefixes(cache, requests, name, monkeypatch):
    """The edited weights change the model's fingerprint: a second apply onto the EditedModel
    must not compute C (or the prefixes) again, on the edited model."""
    from editnb.editors.locate import keys as keys_module

    model, tok = tiny_model("llama")
    editor = get_editor(name, **SMALL | (dict(layers=(1, 2)) if name != "ROME" else {}))
    edited = editor.apply(model, tok, requests[:1])
    for module in (covariance, keys_module, memit):
        monkeypatch.setattr(module, "fingerprint", lambda m: pytest.fail("statistics looked up again after an edit"))
    again = editor.apply(edited, tok, requests[1:2])
    assert again is edited and [u["id"] for u in edited.updates] == [r.id for r in requests[:2]]
    edited.restore()


def test_memit_and_alphaedit_share_v_star_through_the_cache(requests, monkeypatch, tmp_path):
    """AlphaEdit optimises MEMIT's v* (same layer, same settings): it is read back, not run again;
    another target, or a model carrying per-row deltas, is optimised afresh."""
    from dataclasses import replace

    from editnb.editors.locate import values

    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path))  # no v* from the other tests
    model, tok = tiny_model("llama")
    runs = []
    real = values.optimise_values
    monkeypatch.setattr(values, "optimise_values", lambda *a, **k: runs.append(len(a[4])) or real(*a, **k))
    hp = SMALL | dict(layers=(1, 2))
    with get_editor("MEMIT", **hp).apply(model, tok, requests[:2]) as first:
        nll = [u["nll"] for u in first.updates]
    with get_editor("AlphaEdit", **hp).apply(model, tok, requests[:2]) as second:
        assert [u["nll"] for u in second.updates] == nll
    assert runs == [2]
    moved = replace(requests[0], target_new=requests[0].target_new + " Jr")
    with get_editor("AlphaEdit", **hp).apply(model, tok, [moved, requests[1]]):
        pass
    assert runs == [2, 1]
    module = covariance.mlp_out_module(model, 2)
    handle = model.get_submodule(module).register_forward_hook(lambda m, args, out: out)  # as per-row deltas are
    values.cached_values(model, tok, module, 2, requests[:1], [""], get_editor("MEMIT", **hp).hparams)
    values.cached_values(model, tok, module, 2, requests[:1], [""], get_editor("MEMIT", **hp).hparams)
    handle.remove()
    assert runs == [2, 1, 1, 1]


def test_values_in_chunks_equal_values_side_by_side(tiny_models, requests, monkeypatch):
    """Each edit's v* is its own optimisation: chunks of 2 give the v* of all side by side
    (the same steps; deltas within 1e-4 relative, as above: batch rows change float sums)."""
    from editnb.editors.locate import values
    from editnb.editors.locate.rome import ROMEHParams

    model, tok = tiny_models["llama"]
    module = covariance.mlp_out_module(model, 1)
    prefixes = ["", "Some context words here. "]
    hp = ROMEHParams(v_steps=12, stop_nll=0.5)
    together = values.optimise_values(model, tok, module, 1, requests, prefixes, hp)
    monkeypatch.setattr(values, "VALUE_CHUNK", 2)
    chunked = values._in_chunks(model, tok, module, 1, requests, prefixes, hp)
    assert len(chunked) == len(together) == len(requests) > 2
    for a, b in zip(chunked, together):
        assert a.steps == b.steps
        torch.testing.assert_close(a.delta, b.delta, rtol=1e-4, atol=1e-5 * b.delta.norm().item())
