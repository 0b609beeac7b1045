import json
import os
from dataclasses import replace

import pytest
import torch

from editnb import analysis, experiments, results
from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.evaluate import EvalConfig, pre_edit
from editnb.models import tiny_model
from tests.helpers import assert_rows_equal

CONFIG = EvalConfig(max_new_tokens=4, fluency=False, progress=False)


def test_write_json_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "out" / "r.json"
    results.write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", broken_replace)
    with pytest.raises(OSError):
        results.write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]  # no temporary file left behind


@pytest.mark.parametrize("parallel", [None, 2])
def test_edit_and_evaluate_resumes_without_recomputing(tmp_path, monkeypatch, parallel):
    model, tok = tiny_model("gpt2")
    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    editor = get_editor("FT-M", steps=2)
    store = results.ResultStore(tmp_path)
    first = experiments.edit_and_evaluate(editor, model, tok, requests[:2], pre=pre, config=CONFIG, store=store, parallel=parallel)
    first += experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=CONFIG, store=store, parallel=parallel)[4:]
    assert len(first) == 6 and {r["editor"] for r in first} == {"FT-M"}
    assert len(list(tmp_path.glob("*.json"))) == 3

    def no_more_edits(*args, **kwargs):
        raise AssertionError("an edit saved in the store was recomputed")

    monkeypatch.setattr(editor, "apply", no_more_edits)
    monkeypatch.setattr(editor, "apply_each", no_more_edits)
    again = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=CONFIG, store=store, parallel=parallel)
    assert again == first


def test_parallel_single_edits_give_the_rows_of_one_at_a_time():
    model, tok = tiny_model("llama")
    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    editor = get_editor("FT-M", steps=6, lr=5e-3)
    loop = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=CONFIG, parallel=None)
    each = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=CONFIG, parallel=2)
    assert [(r["id"], r["protocol"]) for r in loop] == [(r["id"], r["protocol"]) for r in each]
    for a, b in zip(loop, each):
        assert (a["rewrite_acc"], a["rephrase_acc"], a["locality"]) == (b["rewrite_acc"], b["rephrase_acc"], b["locality"])
        assert [p.get("text") for p in a["probes"]] == [p.get("text") for p in b["probes"]]


@pytest.mark.parametrize("parallel", [None, 2])
def test_each_edit_is_made_once_for_several_contexts_and_saved_per_context(tmp_path, monkeypatch, parallel):
    model, tok = tiny_model("llama")
    requests = load_embedded("test", n=2)
    configs = [replace(CONFIG, context=c) for c in ("plain", "qa")]
    pres = [pre_edit(model, tok, requests, c) for c in configs]
    editor = get_editor("FT-M", steps=2)
    store = results.ResultStore(tmp_path)
    plain = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pres[0], config=configs[0], store=store, parallel=parallel)
    applied = []
    for method in ("apply", "apply_each"):
        original = getattr(editor, method)
        monkeypatch.setattr(editor, method, lambda m, t, rs, *a, _f=original, **k: applied.extend(rs) or _f(m, t, rs, *a, **k))
    both = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pres, config=configs, store=store, parallel=parallel)
    assert len(applied) == 2  # one edit per request, though two of its four evaluations were missing
    assert [(r["id"], r["context"]) for r in both][::2] == [(requests[0].id, "plain"), (requests[0].id, "qa"),
                                                           (requests[1].id, "plain"), (requests[1].id, "qa")]
    assert [r for r in both if r["context"] == "plain"] == plain  # the saved plain rows, reused
    assert len(list(tmp_path.glob("*.json"))) == 4
    experiments.edit_and_evaluate(editor, model, tok, requests, pre=pres, config=configs, store=store, parallel=parallel)
    assert len(applied) == 2  # everything saved: nothing edited again
    with pytest.raises(ValueError, match="2 evaluation configs but 1"):
        experiments.edit_and_evaluate(editor, model, tok, requests, pre=pres[:1], config=configs)


def test_evenly_spaced_keeps_first_and_last():
    assert experiments.evenly_spaced(list(range(10)), 4) == [0, 3, 6, 9]
    assert experiments.evenly_spaced(list(range(3)), 5) == [0, 1, 2]
    assert experiments.evenly_spaced(list(range(3)), None) == [0, 1, 2]


def test_sequential_curve_checkpoints_and_restores():
    model, tok = tiny_model("llama")
    saved = {n: p.detach().clone() for n, p in model.named_parameters()}
    requests = load_embedded("test", n=4)
    pre = pre_edit(model, tok, requests, CONFIG)
    rows = experiments.sequential_curve(get_editor("FT-M", steps=2), model, tok, requests, (1, 3), pre=pre, config=CONFIG)
    assert [(r["n_edits"], r["protocol"]) for r in rows][:2] == [(1, "teacher_forced"), (1, "autoregressive")]
    assert sum(r["n_edits"] == 3 for r in rows) == 6
    sampled = experiments.sequential_curve(get_editor("FT-M", steps=2), model, tok, requests, (4,), pre=pre,
                                           config=CONFIG, evaluate_at_most=2)
    assert [r["id"] for r in sampled][::2] == [requests[0].id, requests[3].id]
    assert all(torch.equal(p, saved[n]) for n, p in model.named_parameters())


def test_target_length_buckets(tiny_models):
    _, tok = tiny_models["gpt2"]
    pairs = [
        {"editor": "E", "tf_acc": 1.0, "ar_success": 0.0, "ar_exact": 0.0, "prompt": "a", "target": "x"},
        {"editor": "E", "tf_acc": 0.5, "ar_success": 1.0, "ar_exact": 1.0, "prompt": "a", "target": "x"},
    ]
    (cell,) = experiments.by_target_length(pairs, tok).values()
    assert cell == {"teacher_forced": 0.75, "autoregressive": 0.5, "exact": 0.5, "n": 2}


def test_summaries():
    rows = [{"protocol": "p", "rewrite_acc": 1.0}, {"protocol": "p", "rewrite_acc": 0.0}, {"protocol": "q", "rewrite_acc": None}]
    summary = analysis.summarize(rows, metrics=("rewrite_acc",))
    assert summary[("p",)] == {"rewrite_acc": 0.5, "n": 2} and summary[("q",)]["rewrite_acc"] is None
    assert "| p | 0.500 | 2 |" in analysis.markdown_table(summary, metrics=("rewrite_acc",))
    table = analysis.estimate_table(rows, ("rewrite_acc",), ("protocol",))
    assert table[("p",)]["rewrite_acc"].method == "wilson" and table[("q",)]["rewrite_acc"].n == 0


def test_locality_definitions_of_an_unedited_model(tiny_models):
    model, tok = tiny_models["gpt2"]
    from editnb.evaluate import evaluate

    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    rows = [dict(r, editor="none") for r in evaluate(model, tok, requests, pre=pre, config=CONFIG)]
    defs = analysis.locality_definitions(rows)[("none",)]
    assert defs["teacher-forced agreement"] == defs["generated-token agreement"] == defs["whole-string agreement"] == 1.0
    assert defs["accuracy before"] == defs["accuracy after"]
    ns = analysis.locality_estimates(rows)[("none",)]["P(true) > P(new target)"]
    assert ns.n == 3 and 0.0 <= ns.mean <= 1.0  # every embedded test request has neighborhood probes


def test_stored_pre_edit_outputs_equal_fresh_ones_and_are_not_recomputed(tmp_path, monkeypatch, tiny_models):
    model, tok = tiny_models["llama"]
    requests = load_embedded("test", n=3)
    store = results.ResultStore(tmp_path)
    fresh = pre_edit(model, tok, requests[:2], CONFIG)
    first = experiments.pre_edit(model, tok, requests[:2], CONFIG, store)
    assert first.tf == fresh.tf and first.ar == fresh.ar and first.config == CONFIG  # exact after the JSON round trip
    both = experiments.pre_edit(model, tok, requests, CONFIG, store)  # request 3 computed, 1-2 read back
    assert set(first.ar) < set(both.ar) and all(both.tf[k] == v for k, v in first.tf.items())

    def fail(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(experiments, "compute_pre_edit", fail)
    again = experiments.pre_edit(model, tok, requests, CONFIG, store)
    assert again.tf == both.tf and again.ar == both.ar


def test_unedited_evaluation_reuses_pre_edit_outputs(tiny_models):
    from editnb.evaluate import evaluate

    model, tok = tiny_models["gpt2"]
    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    assert_rows_equal(evaluate(model, tok, requests, pre=pre, config=CONFIG, unedited=True),
                      evaluate(model, tok, requests, pre=pre, config=CONFIG))
    with pytest.raises(ValueError, match="unedited"):
        evaluate(model, tok, requests, config=CONFIG, unedited=True)


def test_sequential_curves_over_orderings_and_their_bands(tiny_models):
    model, tok = tiny_models["llama"]
    requests = load_embedded("test", n=4)
    orders = experiments.orderings(requests, 2, seed=0)
    assert orders == experiments.orderings(requests, 2, seed=0) and orders[0] != orders[1]
    assert all(sorted(r.id for r in o) == sorted(r.id for r in requests) for o in orders)
    pre = pre_edit(model, tok, requests, CONFIG)
    rows = experiments.sequential_curves(get_editor("FT-M", steps=2), model, tok, orders, (1, 2), pre=pre, config=CONFIG,
                                         protocols=("autoregressive",))
    assert {(r["ordering"], r["n_edits"]) for r in rows} == {(0, 1), (0, 2), (1, 1), (1, 2)}
    assert {r["protocol"] for r in rows} == {"autoregressive"} and len(rows) == 2 * (1 + 2)
    assert [r["id"] for r in rows if r["ordering"] == 1 and r["n_edits"] == 1] == [orders[1][0].id]
    bands = analysis.sequential_bands(rows, ("rewrite_acc",))
    cell = bands[("FT-M", "rewrite_acc")]
    assert cell["n_edits"] == [1, 2] and cell["n"] == [2, 4] and cell["orderings"] == [2, 2]
    scored = [{r["id"] for r in rows if r["n_edits"] == n} for n in (1, 2)]  # a request in both orders counts once
    assert [e.n for e in cell["interval"]] == [len(ids) for ids in scored]
    assert all(e.lo <= e.mean <= e.hi for e in cell["interval"])
    assert all(lo <= m <= hi for lo, m, hi in zip(cell["low"], cell["mean"], cell["high"]))
    assert "FT-M" in analysis.format_sequential(bands)


def test_seen_template_requests_keep_only_rewrite_and_rephrases():
    requests = load_embedded("test", n=2)
    seen = experiments.seen_template_requests(requests)
    assert [s.id for s in seen] == [f"{r.id}@seen" for r in requests]
    assert all(s.rephrase_prompts == r.meta["seen_template_prompts"] and not s.locality and not s.portability
               for s, r in zip(seen, requests))


def test_every_shipped_hyperparameter_file_reads_into_its_editor():
    """data/hparams/<editor>/<model>.yaml: each names a registered editor and only its fields."""
    from editnb.editors import get_editor
    from editnb.paths import data_dir

    files = sorted((data_dir() / "hparams").glob("*/*.yaml"))
    assert files, "no per-model hyperparameter files shipped"
    for path in files:
        editor = get_editor(path.parent.name, hparams_file=path)
        assert editor.hparams != type(editor.hparams)(), path  # the file changes something


def test_make_editor_reads_the_models_file_under_the_budget(tmp_path, monkeypatch):
    from editnb import nb

    cfg = nb.setup(mode="ci", model_name="meta-llama/Llama-2-7b-hf")
    rome = experiments.make_editor("ROME", cfg)
    assert rome.hparams.layer == 5 and rome.hparams.v_weight_decay == 0.001  # the file
    assert rome.hparams.stats_tokens == experiments.BUDGETS["ROME"]["ci"]["stats_tokens"]  # the CI budget on top
    assert experiments.make_editor("ROME", cfg, layer=3).hparams.layer == 3  # explicit overrides last
    assert experiments.make_editor("ROME", "ci").hparams.layer is None  # the default model: depth fraction
    note = experiments.hparams_note(["ROME", "FT-M"], cfg.model_name)
    assert "ROME (data/hparams/ROME/Llama-2-7b-hf.yaml)" in note and "depth fraction): FT-M" in note


def test_your_own_hparams_folder_is_read_before_the_shipped_one(tmp_path, monkeypatch):
    (tmp_path / "ROME").mkdir()
    (tmp_path / "ROME" / "Llama-2-7b-hf.yaml").write_text("layer: 7\n")
    monkeypatch.setenv("EDITNB_HPARAMS", str(tmp_path))
    assert experiments.hparams_file("ROME", "meta-llama/Llama-2-7b-hf") == tmp_path / "ROME" / "Llama-2-7b-hf.yaml"
    assert experiments.make_editor("ROME", "ci").hparams.layer is None  # no file of its own for the default model
    from editnb import nb

    assert experiments.make_editor("ROME", nb.setup(mode="ci", model_name="Llama-2-7b-hf")).hparams.layer == 7
    assert experiments.hparams_file("MEMIT", "Llama-2-7b-hf").parent.parent.name == "hparams"  # the shipped one still serves
    assert str(tmp_path) in experiments.hparams_note(["ROME"], "Llama-2-7b-hf")


def test_right_answers_followed_by_more_text_are_listed_and_counted():
    probes = [dict(role="rephrase", prefix=1.0, exact=0.0, prompt="p", text=" Athens Athens", target="Athens"),
              dict(role="rephrase", prefix=1.0, exact=0.0, prompt="q", text=" Athens, Greece", target="Athens"),
              dict(role="rephrase", prefix=1.0, exact=1.0, prompt="r", text=" Athens", target="Athens"),
              dict(role="rewrite", prefix=1.0, exact=0.0, prompt="s", text=" Rome Rome", target="Rome")]
    rows = [{"probes": probes}]
    assert analysis.ended_answers(rows) == ["'p' -> ' Athens Athens'", "'q' -> ' Athens, Greece'"]
    assert analysis.ended_answers(rows, k=1) == ["'p' -> ' Athens Athens'"]
    assert analysis.text_after_answer(rows) == {"repeats the answer": 1, "other text": 1}
    assert analysis.text_after_answer(rows, role="rewrite") == {"repeats the answer": 1, "other text": 0}


def test_sequential_curves_are_saved_per_editor_and_read_back_without_editing(tmp_path, monkeypatch, tiny_models):
    model, tok = tiny_models["llama"]
    requests = load_embedded("test", n=3)
    orders = experiments.orderings(requests, 2, seed=0)
    pre = pre_edit(model, tok, requests, CONFIG)
    editor = get_editor("FT-M", steps=2)
    store = results.ResultStore(tmp_path)
    args = dict(config=CONFIG, pre=pre, protocols=("autoregressive",), store=store)
    first = experiments.sequential_curves(editor, model, tok, orders, (1, 2), **args)
    assert len(list(tmp_path.glob("*.json"))) == 1 and {(r["ordering"], r["n_edits"]) for r in first} == {(0, 1), (0, 2), (1, 1), (1, 2)}

    def no_edits(*a, **k):
        raise AssertionError("a saved sequential curve was edited again")

    monkeypatch.setattr(editor, "apply", no_edits)
    monkeypatch.setattr(editor, "apply_streams", no_edits)
    assert experiments.sequential_curves(editor, model, tok, orders, (1, 2), **args) == first
    with pytest.raises(AssertionError, match="edited again"):  # other checkpoints: another key, edited afresh
        experiments.sequential_curves(editor, model, tok, orders, (1, 3), **args)
    with pytest.raises(AssertionError, match="edited again"):  # a reworded request: another key
        reworded = [[replace(r, target_new=r.target_new + " x") if i == 0 else r for i, r in enumerate(o)] for o in orders]
        experiments.sequential_curves(editor, model, tok, reworded, (1, 2), **args)
