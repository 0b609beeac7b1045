"""The Mirage decomposition and the paired tables on hand-made rows with known answers."""
import pytest

from editnb import decomposition


def rows_for(editor, tf_acc, tf_all, first_l, prefix, exact, first_l_acc=None):
    rows = []
    first_l_acc = first_l_acc or first_l
    for i, values in enumerate(zip(tf_acc, tf_all, first_l, prefix, exact, first_l_acc)):
        acc, em, fl, pr, ex, fla = values
        rows.append({"editor": editor, "id": f"r{i}", "protocol": "teacher_forced", "rewrite_acc": acc, "rewrite_exact_match": em})
        rows.append({"editor": editor, "id": f"r{i}", "protocol": "autoregressive", "rewrite_first_L": fl,
                     "rewrite_first_L_acc": fla, "rewrite_first_L_prefix": fl, "rewrite_prefix": pr, "rewrite_exact": ex,
                     "rewrite_contains": pr})
    return rows


def test_each_step_reports_its_paired_change():
    n = 20
    rows = rows_for("E", [0.75] * n, [0.0] * 10 + [1.0] * 10, [0.0] * 10 + [1.0] * 10, [0.0] * 12 + [1.0] * 8,
                    [0.0] * 18 + [1.0] * 2, first_l_acc=[0.5] * n)
    (steps,) = decomposition.decomposition(rows).values()
    names = [s["step"] for s in steps]
    assert names == [s[0] for s in decomposition.STEPS] + [decomposition.BESIDE[0]]
    means = [s["estimate"].mean for s in steps]
    assert means == [0.75, 0.5, 0.5, 0.5, 0.4, 0.1, 0.5]
    assert steps[0]["change"] is None and steps[1]["change"].diff == pytest.approx(-0.25) and steps[1]["change"].significant
    assert steps[2]["change"].diff == 0.0 and steps[3]["change"].diff == 0.0
    assert steps[4]["change"].diff == pytest.approx(-0.1) and steps[5]["change"].diff == pytest.approx(-0.3)
    assert steps[5]["change"].significant and steps[6]["change"] is None
    assert all(s["estimate"].n == n for s in steps)
    text = decomposition.format_decomposition({"E": steps})
    assert "(n=20)" in text and "removes the target length" in text


def test_paired_gap_and_editor_difference():
    rows = rows_for("A", [1.0] * 10, [1.0] * 10, [1.0] * 10, [1.0] * 10, [0.0] * 10)
    rows += rows_for("B", [1.0] * 10, [1.0] * 10, [1.0] * 10, [1.0] * 5 + [0.0] * 5, [0.0] * 10)
    gaps = {(g["editor"], g["verdict"]): g for g in decomposition.paired_gaps(rows, roles=("rewrite",))}
    assert gaps[("A", "prefix")]["difference"].diff == 0.0 and not gaps[("A", "prefix")]["difference"].significant
    assert gaps[("A", "exact")]["difference"].diff == -1.0 and gaps[("A", "exact")]["difference"].significant
    assert gaps[("B", "prefix")]["generation"].method == "wilson" and gaps[("B", "prefix")]["generation"].n == 10
    (diff,) = decomposition.editor_differences(rows)
    assert (diff["a"], diff["b"]) == ("A", "B") and diff["difference"].diff == -0.5
    assert "n=10" in decomposition.format_editor_differences([diff])


def test_verdict_table_gives_intervals_and_n():
    rows = rows_for("A", [0.5, 1.0], [0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.0, 1.0])
    table = decomposition.verdict_table(rows, roles=("rewrite",))
    by = {(t["protocol"], t["verdict"]): t["rewrite"] for t in table}
    assert by[("autoregressive", "prefix")].mean == 1.0 and by[("autoregressive", "prefix")].lo < 1.0
    assert by[("teacher_forced", "token accuracy")].method == "bootstrap"
    md = decomposition.format_verdict_table(table, roles=("rewrite",), markdown=True)
    assert md.splitlines()[0] == "| editor | protocol | verdict | rewrite | n |" and "| 2 |" in md


def test_a_missing_step_leaves_no_two_factor_change():
    rows = [r for r in rows_for("E", [1.0] * 8, [1.0] * 8, [1.0] * 8, [0.0] * 8, [0.0] * 8)]
    for r in rows:
        r.pop("rewrite_first_L_prefix", None)
    steps = {s["step"]: s for s in decomposition.decomposition(rows)["E"]}
    assert "gen. first L, words" not in steps and steps["gen. prefix"]["change"] is None


def test_conclusions_read_each_difference_as_far_as_it_goes():
    from editnb.intervals import PairedDifference, estimate

    def gap(editor, verdict, d):
        return {"editor": editor, "role": "rewrite", "verdict": verdict, "teacher_forced": estimate([1.0] * 20),
                "generation": estimate([0.0] * 20), "difference": d}

    gaps = [gap("A", "prefix", PairedDifference(-0.5, -0.7, -0.3, 20, 0.001)),
            gap("A", "exact", PairedDifference(-0.5, -0.7, -0.3, 20, 0.001)),
            gap("B", "prefix", PairedDifference(-0.01, -0.02, -0.001, 252, 0.062)),  # interval only
            gap("C", "prefix", PairedDifference(0.0, -0.1, 0.1, 20, 1.0))]
    lines = decomposition.conclusions(gaps).splitlines()
    assert len(lines) == 5
    assert "(prefix verdict)" in lines[0] and "is lower than" in lines[0]
    assert "exact verdict (protocol and stop rule together)" in lines[1]
    assert "not confirmed as different" in lines[2] and "lower than" not in lines[2]
    assert "not distinguishable at this n" in lines[3]
    assert lines[4].startswith("4 paired tests, not corrected for multiplicity") and "0.2 would be starred" in lines[4]
    assert decomposition.conclusions([]) == ""


def probe_rows(editor, cases):
    """Rows of one editor whose requests each hold one rewrite probe: (tf acc, gen. prefix, first_L_acc)."""
    rows = []
    for i, (acc, prefix, first) in enumerate(cases):
        rows.append({"editor": editor, "id": f"r{i}", "protocol": "teacher_forced",
                     "probes": [{"role": "rewrite", "acc": acc}, {"role": "locality", "acc": 1.0}]})
        rows.append({"editor": editor, "id": f"r{i}", "protocol": "autoregressive",
                     "probes": [{"role": "rewrite", "prefix": prefix, "first_L_acc": first}, {"role": "locality", "prefix": 0.0}]})
    return rows


def test_gap_reasons_sorts_the_probes_teacher_forcing_favours():
    # partial credit and wrong from the start; full credit but wrong later; partial, first token right; a tie; generation higher
    rows = probe_rows("E", [(0.5, 0.0, 0.0), (1.0, 0.0, 0.5), (0.5, 0.0, 0.5), (1.0, 1.0, 1.0), (0.0, 1.0, 0.0)])
    r = decomposition.gap_reasons(rows, "E")
    assert (r["probes"], r["n"], r["partial"], r["wrong_from_start"], r["both"]) == (5, 3, 2, 1, 1)
    assert decomposition.format_gap_reasons(r).startswith("E rewrite: 3 of 5 probes")


def test_pair_differences_average_per_request_then_pair():
    pairs = [{"editor": "E", "role": "rewrite", "id": f"r{i // 2}", "tf_acc": 0.5, "ar_prefix": float(i % 2 == 0 or i < 8)}
             for i in range(24)]
    (t,) = decomposition.pair_differences(pairs)
    assert t["difference"].n == 12 and t["probes"] == 24
    assert (t["higher"], t["lower"]) == (8 + 8, 8)  # probes 0-7 score 1.0, and after them the even ones
    assert t["difference"].diff == pytest.approx(sum(0.5 if i < 4 else 0.0 for i in range(12)) / 12)
    text = decomposition.format_pair_differences([t])
    assert "n=12 requests" in text and "1 paired tests" in text
