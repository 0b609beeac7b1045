"""Notebook 03's main table in paper mode, alone: every editor on every test request.

    .venv/bin/python benchmarks/paper_table.py [--editors GRACE WISE ...] [--out results/paper_table.md]

``make figures`` runs every notebook in paper mode, which takes longer than one working
session on 2 cores; this script runs only notebook 03's first section (each request edited
alone, teacher-forced and generated, paper-mode budgets and evaluation) and shares its
resumable store (``results/edits/``), so a later ``make figures`` on the same machine reuses
every edit made here, and an interrupted run picks up where it stopped.  After each editor it
rewrites ``--out`` atomically with the verdict table, the paired teacher-forced-versus-generation
differences and, for the editors the Mirage paper reports, its Llama-3-8B numbers beside ours.
"""
import argparse
import os
import subprocess
import time

from editnb import analysis, decomposition, experiments, models, nb, plotting, results
from editnb.data.embedded import load_embedded
from editnb.intervals import estimate

# Mirage (Yang et al., ACL 2025), Llama-3-8B, single edits: rewrite reliability under teacher
# forcing and under generation, on ZsRE, CounterFact and QAEdit.
MIRAGE = {
    "ROME": {"ZsRE": (.996, .820), "CounterFact": (.999, .877), "QAEdit": (.987, .691)},
    "MEMIT": {"ZsRE": (.982, .803), "CounterFact": (.998, .882), "QAEdit": (.967, .649)},
    "GRACE": {"ZsRE": (.999, .036), "CounterFact": (1.000, .008), "QAEdit": (.999, .018)},
    "WISE": {"ZsRE": (.859, .091), "CounterFact": (.807, .212), "QAEdit": (.910, .121)},
}


def mirage_section(gaps) -> str:
    """Mirage's rewrite numbers beside ours: whether generation is lower here too (the direction),
    and whether our paired difference reaches the size of their drops (its interval meets the
    range of their three datasets' drops)."""
    lines = ["| editor | Mirage ZsRE / CounterFact / QAEdit (TF → gen.) | Mirage's drops | editnb TF token acc. → gen. prefix | "
             "paired difference | lower under generation | drop of Mirage's size |", "|---|---|---|---|---|---|---|"]
    for t in gaps:
        if t["role"] != "rewrite" or t["verdict"] != "prefix" or t["editor"] not in MIRAGE:
            continue
        d = t["difference"]
        theirs = " / ".join(f"{a:.3f} → {b:.3f}" for a, b in MIRAGE[t["editor"]].values())
        drops = [b - a for a, b in MIRAGE[t["editor"]].values()]
        lower = "yes" if d.significant and d.diff < 0 else ("no (higher)" if d.significant else "not at this n")
        size = "yes" if d.lo <= max(drops) and d.hi >= min(drops) else "no"
        lines.append(f"| {t['editor']} | {theirs} | {min(drops):+.3f} to {max(drops):+.3f} | {t['teacher_forced']} → "
                     f"{t['generation']} | {d} (n={d.n}) | {lower} | {size} |")
    return "\n".join(lines)


def compact_table(rows) -> str:
    """One row per editor: the numbers the README shows (means with 95% intervals, n)."""
    cells = {(t["editor"], t["verdict"]): t for t in decomposition.verdict_table(rows)}
    loc = analysis.estimate_table([r for r in rows if r["protocol"] == "autoregressive"], ("locality",), ("editor",))
    head = ["editor", "rewrite, TF token acc.", "rewrite, gen. prefix", "rewrite, gen. exact", "rephrase, TF token acc.",
            "rephrase, gen. prefix", "locality, gen. tokens", "n"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for editor in decomposition.editors_of(rows):
        values = [cells[(editor, "token accuracy")]["rewrite"], cells[(editor, "prefix")]["rewrite"], cells[(editor, "exact")]["rewrite"],
                  cells[(editor, "token accuracy")]["rephrase"], cells[(editor, "prefix")]["rephrase"], loc[(editor,)]["locality"]]
        lines.append(f"| {editor} | " + " | ".join(format(v) for v in values) + f" | {values[0].n} |")
    return "\n".join(lines)


def write_report(path, rows, seconds: dict, requests, note: str = "") -> None:
    gaps = decomposition.paired_gaps(rows)
    table = decomposition.verdict_table(rows)
    others = ("locality", "portability", "fluency")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    times = ", ".join(f"{e} {s / 60:.1f} min" for e, s in seconds.items())
    text = "\n\n".join([
        f"# Every editor, teacher forcing versus generation (paper mode, {len(requests)} test requests)",
        f"Written by `benchmarks/paper_table.py` at commit {commit}: notebook 03's first section alone, each request "
        "edited alone (32 side by side where the editor can), paper-mode budgets, greedy generation of 16 new tokens. "
        "Means over requests with 95% intervals (Wilson for proportions, bootstrap otherwise); paired bootstrap "
        f"differences with the exact sign test. Wall time per editor on 2 CPU cores, including training and statistics: {times}."
        + (f" {note}" if note else ""),
        "## In brief", compact_table(rows),
        "## Verdicts", decomposition.format_verdict_table(table, markdown=True),
        "## Teacher-forced token accuracy against generation (paired)", "```\n" + decomposition.format_paired(gaps) + "\n```",
        "## Against the Mirage paper (rewrite)", mirage_section(gaps),
        "## Locality, portability, fluency", "```\n" + analysis.format_estimates(
            analysis.estimate_table(rows, others, ("editor", "protocol")), others, ("editor", "protocol")) + "\n```",
        "## Conclusions (printed from the numbers above)", decomposition.conclusions(gaps),
    ])
    results.write_text(path, text + "\n")


def write_summary(cfg, rows, n: int, note: str) -> None:
    """results/summary.md and the main figure from ``rows``, by the functions notebook 03 calls."""
    others = ("locality", "locality_ns", "portability", "portability_delta", "fluency")
    other_table = analysis.format_estimates(analysis.estimate_table(rows, others, ("editor", "protocol")), others, ("editor", "protocol"))
    lifelong_file = cfg.result("02_serac_test.json")
    text = decomposition.summary_markdown(
        rows, decomposition.paired_gaps(rows), decomposition.decomposition(rows, "rewrite"), other_table=other_table,
        lifelong=results.read_json(lifelong_file) if lifelong_file.is_file() else None,
        title=f"editnb summary (paper mode, {n} held-out edits)")
    results.write_text(cfg.result("summary.md"), text.replace("\n", f"\n\n{note}\n", 1) if note else text)
    table = decomposition.verdict_table(rows)
    plotting.plot_verdict_dots([t for t in table if t["verdict"] != "contains"], ("rewrite", "rephrase"),
                               title=f"Edit success: teacher forcing versus generation (n={n} edits)", save=cfg.figure("03_tf_vs_ar"))


def verdicts_from_reports(paths) -> list[dict]:
    """The "## Verdicts" tables of earlier reports of this script, read back as verdict-table
    entries (means and 95% intervals as printed, to 3 and 2 decimals); an editor in several
    reports keeps the last one's rows.  For a figure of runs whose rows were not all kept."""
    import re

    from editnb.intervals import Estimate

    cell = re.compile(r"([0-9.]+) \[([0-9.]+), ([0-9.]+)\]")
    by_editor = {}
    for path in paths:
        text = open(path).read().split("## Verdicts", 1)[1].split("\n## ", 1)[0]
        found = {}
        for line in text.splitlines():
            parts = [p.strip() for p in line.strip().strip("|").split("|")]
            if len(parts) != 6 or not cell.fullmatch(parts[3]):
                continue
            editor, protocol, verdict, rewrite, rephrase, n = parts
            est = {role: Estimate(*map(float, cell.fullmatch(v).groups()), int(n), "as printed")
                   for role, v in (("rewrite", rewrite), ("rephrase", rephrase))}
            found.setdefault(editor, []).append({"editor": editor, "protocol": protocol, "verdict": verdict, **est})
        by_editor.update(found)
    order = {name: i for i, name in enumerate(experiments.editor_names("paper"))}
    return [t for e in sorted(by_editor, key=lambda e: order.get(e, len(order))) for t in by_editor[e]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--editors", nargs="+", default=None, help="default: every registered editor")
    parser.add_argument("--n", type=int, default=None, help="requests (default: all of the test split)")
    parser.add_argument("--part", default=None, metavar="K/M",
                        help="only every M-th request from the K-th (0-based): M processes fill the shared store side by side")
    parser.add_argument("--out", default="results/paper_table.md")
    parser.add_argument("--merge", nargs="+", default=None, metavar="ROWS_JSON",
                        help="write the report from the rows files of earlier runs (each with its `seconds`), running nothing")
    parser.add_argument("--note", default="", help="a sentence for the report's header (e.g. where merged rows come from)")
    parser.add_argument("--summary", action="store_true",
                        help="with --merge: also write results/summary.md and figures/03_tf_vs_ar as notebook 03 writes them in paper mode")
    parser.add_argument("--figure-from", nargs="+", default=None, metavar="REPORT_MD",
                        help="draw figures/03_tf_vs_ar from the verdict tables of earlier reports (the last report wins per editor)")
    args = parser.parse_args()
    if args.figure_from:
        table = verdicts_from_reports(args.figure_from)
        n = max(t["rewrite"].n for t in table)
        cfg = nb.setup(seed=0, mode="paper")
        plotting.plot_verdict_dots([t for t in table if t["verdict"] != "contains"], ("rewrite", "rephrase"),
                                   title=f"Edit success: teacher forcing versus generation (n={n} edits per editor)",
                                   save=cfg.figure("03_tf_vs_ar"))
        print(sorted({t["editor"] for t in table}))
        return
    if args.merge:
        # a rows file is {"rows", "seconds"}, or a bare list of rows (then the times come from its run's
        # printed "EDITOR: N min" lines, in a file of the same name ending in .log, where there is one)
        rows, seconds = [], {}
        for path in args.merge:
            saved = results.read_json(path)
            if isinstance(saved, list):
                log = os.path.splitext(path)[0] + ".log"
                lines = open(log).read().splitlines() if os.path.isfile(log) else []
                saved = {"rows": saved, "seconds": {l.split(":")[0]: 60 * float(l.split(":")[1].split()[0])
                                                     for l in lines if l.count(":") == 1 and " min," in l}}
            rows += saved["rows"]
            for editor, s in saved["seconds"].items():  # one editor in several parts (--part): their times add up
                seconds[editor] = seconds.get(editor, 0.0) + s
        order = {name: i for i, name in enumerate(experiments.editor_names("paper"))}
        rows.sort(key=lambda r: order.get(r["editor"], len(order)))  # stable: each editor's rows keep their order
        n = len({r["id"] for r in rows})
        write_report(args.out, rows, seconds, range(n), args.note)
        if args.summary:
            write_summary(nb.setup(seed=0, mode="paper"), rows, n, args.note)
        return
    os.environ.setdefault("EDITNB_PROGRESS", "0")
    nb.quiet_libraries()
    cfg = nb.setup(seed=0, mode="paper")
    model, tok = models.load_model()
    requests = experiments.evenly_spaced(load_embedded("test"), args.n)
    if args.part:
        k, m = (int(x) for x in args.part.split("/"))
        requests = requests[k::m]
    config = experiments.eval_config(cfg.mode)
    store = results.ResultStore(cfg.result("edits"))
    start = time.perf_counter()
    pre = experiments.pre_edit(model, tok, requests, config, store)
    print(f"pre-edit outputs of {len(requests)} requests: {time.perf_counter() - start:.0f} s", flush=True)
    rows, seconds = [], {}
    for name in args.editors or experiments.editor_names("paper"):
        start = time.perf_counter()
        editor = experiments.make_editor(name, cfg.mode)
        rows += experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=config, store=store)
        seconds[name] = time.perf_counter() - start
        out = cfg.result(os.path.basename(args.out)) if args.out.startswith("results/") else args.out
        results.write_json(os.path.splitext(out)[0] + ".json", {"rows": rows, "seconds": seconds})  # for --merge
        write_report(out, rows, seconds, requests)
        ok = [r["rewrite_prefix"] for r in rows if r["editor"] == name and r["protocol"] == "autoregressive"]
        print(f"{name}: {seconds[name] / 60:.1f} min, gen. rewrite prefix {estimate(ok)}", flush=True)


if __name__ == "__main__":
    main()
