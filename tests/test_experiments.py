import json
import os

import pytest
import torch

from editnb import analysis, experiments, results
from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.evaluate import EvalConfig, pre_edit
from editnb.models import tiny_model

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


def test_store_computes_once(tmp_path):
    store = results.ResultStore(tmp_path)
    calls = []
    assert store.get_or_compute("k", lambda: calls.append(1) or [1, 2]) == [1, 2]
    assert store.get_or_compute("k", lambda: calls.append(1) or [3]) == [1, 2]
    assert calls == [1]


def test_edit_and_evaluate_resumes_without_recomputing(tmp_path, monkeypatch):
    model, tok = tiny_model("gpt2")
    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    editor = get_editor("FT-M", steps=2)
    store = results.ResultStore(tmp_path)
    first = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=CONFIG, store=store)
    assert len(first) == 6 and {r["editor"] for r in first} == {"FT-M"}
    assert len(list(tmp_path.glob("*.json"))) == 3

    def no_more_edits(*args, **kwargs):
        raise AssertionError("an edit saved in the store was recomputed")

    monkeypatch.setattr(editor, "apply", no_more_edits)
    again = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=CONFIG, store=store)
    assert [r["rewrite_acc"] for r in again] == [r["rewrite_acc"] for r in first]


def test_sequential_curve_checkpoints_and_restores():
    model, tok = tiny_model("llama")
    saved = {n: p.detach().clone() for n, p in model.named_parameters()}
    requests = load_embedded("test", n=4)
    pre = pre_edit(model, tok, requests, CONFIG)
    rows = experiments.sequential_curve(get_editor("FT-M", steps=2), model, tok, requests, (1, 3), pre=pre, config=CONFIG)
    assert [(r["n_edits"], r["protocol"]) for r in rows][:2] == [(1, "teacher_forced"), (1, "autoregressive")]
    assert sum(r["n_edits"] == 3 for r in rows) == 6
    assert all(torch.equal(p, saved[n]) for n, p in model.named_parameters())


def test_leak_breakdown_and_target_length():
    pairs = [
        {"editor": "E", "tf_em": 1.0, "tf_acc": 1.0, "ar_success": 0.0, "ar_exact": 0.0, "prompt": "a", "target": "x"},
        {"editor": "E", "tf_em": 1.0, "tf_acc": 1.0, "ar_success": 1.0, "ar_exact": 0.0, "prompt": "a", "target": "x y z"},
        {"editor": "E", "tf_em": 1.0, "tf_acc": 1.0, "ar_success": 1.0, "ar_exact": 1.0, "prompt": "a", "target": "x"},
        {"editor": "E", "tf_em": 0.0, "tf_acc": 0.5, "ar_success": 0.0, "ar_exact": 0.0, "prompt": "a", "target": "x"},
    ]
    leaks = experiments.leak_breakdown(pairs)["E"]
    assert leaks["n_tf_correct"] == 3
    assert leaks["content leak"] == pytest.approx(1 / 3) and leaks["length leak"] == pytest.approx(1 / 3)


def test_bootstrap_and_summaries():
    lo, hi = analysis.bootstrap_ci([0, 1] * 50)
    assert lo < 0.5 < hi and hi - lo < 0.3
    assert analysis.bootstrap_ci([None]) == (None, None)
    rows = [{"protocol": "p", "rewrite_acc": 1.0}, {"protocol": "p", "rewrite_acc": 0.0}, {"protocol": "q", "rewrite_acc": None}]
    summary = analysis.summarize(rows, metrics=("rewrite_acc",))
    assert summary[("p",)] == {"rewrite_acc": 0.5, "n": 2} and summary[("q",)]["rewrite_acc"] is None
    assert "| p | 0.500 | 2 |" in analysis.markdown_table(summary, metrics=("rewrite_acc",))


def test_locality_definitions_of_an_unedited_model(tiny_models):
    model, tok = tiny_models["gpt2"]
    from editnb.evaluate import evaluate

    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    rows = [dict(r, editor="none") for r in evaluate(model, tok, requests, pre=pre, config=CONFIG)]
    defs = analysis.locality_definitions(rows)[("none",)]
    assert defs["teacher-forced agreement"] == defs["generated-token agreement"] == defs["whole-string agreement"] == 1.0
    assert defs["accuracy before"] == defs["accuracy after"]
