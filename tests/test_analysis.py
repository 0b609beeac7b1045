from types import SimpleNamespace

from editnb import analysis


def test_unscored_names_each_group_missing_or_repeating_a_request():
    requests = [SimpleNamespace(id=i) for i in ("a", "b")]
    rows = [{"id": i, "editor": e, "protocol": p} for e in ("FT-M", "ROME") for p in ("teacher_forced", "autoregressive") for i in "ab"]
    assert analysis.unscored(rows, requests) == {}
    rows.pop()  # ROME's generated answer for b is missing
    rows.append({"id": "a", "editor": "FT-M", "protocol": "teacher_forced"})  # and one request scored twice
    assert analysis.unscored(rows, requests) == {("ROME", "autoregressive"): 1, ("FT-M", "teacher_forced"): 3}
    assert analysis.unscored(rows, requests, by=("editor",)) == {("FT-M",): 5, ("ROME",): 3}


def test_verdict_order_violations_finds_an_exact_answer_that_is_not_a_prefix_one():
    good = {"id": "a", "editor": "E", "rewrite_exact": 0.0, "rewrite_prefix": 1.0, "rewrite_contains": 1.0,
            "rephrase_exact": 0.5, "rephrase_prefix": 0.5, "rephrase_contains": 1.0}
    tf = {"id": "a", "editor": "E", "rewrite_acc": 0.5}  # teacher-forced rows carry no verdicts: skipped
    assert analysis.verdict_order_violations([good, tf]) == []
    bad = dict(good, id="b", rephrase_exact=1.0)
    assert analysis.verdict_order_violations([good, bad]) == [("b", "E", "rephrase")]
