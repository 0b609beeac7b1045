import pytest

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


def test_locality_findings_give_each_sequential_end_its_interval_and_requests():
    from editnb.intervals import estimate

    rows = [{"editor": "E", "id": f"r{i}", "n_edits": n, "ordering": o, "rewrite_acc": float(n == 1 or i % 2 == 0)}
            for n in (1, 50) for o in range(3) for i in range(min(n, 12))]
    bands = analysis.sequential_bands(rows, ("rewrite_acc",))
    cell = bands[("E", "rewrite_acc")]
    assert [e.n for e in cell["interval"]] == [1, 12] and cell["n"] == [3, 36]  # r0 in three orderings counts once
    tf = gen = "x"
    estimates = {("E",): {"teacher-forced agreement": estimate([1.0] * 12), "generated-token agreement": estimate([0.5] * 12)}}
    text = analysis.locality_findings(estimates, bands)
    assert "after 1 edit(s) (n=1 requests)" in text and "0.500 [" in text and "after 50 (n=12 requests; 3 orderings pooled)" in text


def test_kind_differences_pair_each_requests_unrelated_and_neighborhood_agreement():
    def row(i, neighborhood, unrelated):
        probes = [{"role": "locality", "kind": "neighborhood", "agreement": neighborhood},
                  {"role": "locality", "kind": "unrelated", "agreement": unrelated}, {"role": "rewrite"}]
        return {"id": f"r{i}", "editor": "E", "protocol": "autoregressive", "probes": probes}

    rows = [row(i, 0.0 if i < 8 else 1.0, 1.0) for i in range(12)]
    rows.append(dict(row(0, 1.0, 1.0), protocol="teacher_forced"))  # another protocol: not counted
    d = analysis.kind_differences(rows)["E"]
    assert d.n == 12 and abs(d.diff - 8 / 12) < 1e-9 and d.significant


def test_first_divergence_keeps_an_editor_that_changed_no_probe():
    probe = lambda d: {"role": "locality", "kind": "neighborhood", "first_diff": d, "agreement": 1.0}  # noqa: E731
    rows = [{"editor": "GRACE", "protocol": "autoregressive", "id": "1", "probes": [probe(None), probe(None)]},
            {"editor": "ROME", "protocol": "autoregressive", "id": "1", "probes": [probe(0), probe(None)]},
            {"editor": "ROME", "protocol": "teacher_forced", "id": "1", "probes": [probe(3)]}]
    assert analysis.first_divergence(rows) == {"GRACE": [], "ROME": [0]}


def test_sequential_differences_pair_two_editors_over_the_requests_both_scored():
    rows = [{"editor": e, "id": str(i), "n_edits": n, "ordering": o, "rewrite_acc": float(e == "B" or i % 2), "locality": 1.0}
            for e in ("A", "B") for n in (1, 10) for o in range(2) for i in range(12 if n == 10 else 2)]
    rows.append({"editor": "A", "id": "only-A", "n_edits": 10, "ordering": 0, "rewrite_acc": 0.0, "locality": 1.0})
    diffs = analysis.sequential_differences(rows, "A", "B")
    d = diffs[("rewrite_acc", 10)]
    assert d.n == 12 and d.diff == pytest.approx(0.5)  # B always right, A on half: the unpaired request left out
    assert diffs[("locality", 10)].diff == 0.0 and set(diffs) == {(m, n) for m in ("rewrite_acc", "locality") for n in (1, 10)}
    text = analysis.format_sequential_differences(diffs, "A", "B")
    assert "B - A, rewrite_acc after 10 edits: +0.500" in text and "4 paired tests, not corrected" in text
