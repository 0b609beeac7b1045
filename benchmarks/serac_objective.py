"""SERAC's original against its current default on all 252 test requests, paired by request.

    .venv/bin/python benchmarks/serac_objective.py [--out results/serac_objective.md]

Runs nothing: it reads SERAC's generation rows of notebook 03's paper run at commit 0d719c6
(``results/03_rows.json``: the counterfactual model trained on the target tokens only, routing on
the whole input) and of ``benchmarks/paper_table.py`` with the current default
(``results/paper_table_added.json``: the answer ends with EOS, routing on the question), both
plain prompts, each request edited alone, the same evaluation code.  In a plain prompt the
routing change does nothing, so the difference is the training objective's (and the run's: the
two trainings may stop at other steps).
"""
import argparse

from editnb import analysis, results
from editnb.intervals import paired_bootstrap

METRICS = ("rewrite_prefix", "rewrite_exact", "rephrase_prefix", "rephrase_exact", "locality")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/serac_objective.md")
    args = parser.parse_args()
    old = [dict(r, editor="SERAC, original (0d719c6)") for r in results.read_json("results/03_rows.json")
           if r["editor"] == "SERAC" and r["protocol"] == "autoregressive"]
    new = [dict(r, editor="SERAC, default") for r in results.read_json("results/paper_table_added.json")["rows"]
           if r["editor"] == "SERAC" and r["protocol"] == "autoregressive"]
    table = analysis.format_estimates(analysis.estimate_table(old + new, METRICS, ("editor",)), METRICS, ("editor",))
    lines = []
    for m in METRICS:
        d = paired_bootstrap({r["id"]: r[m] for r in old}, {r["id"]: r[m] for r in new})
        lines.append(f"{m}: default - original {d}  n={d.n}  sign test p={d.p:.3f}" + (" *" if d.significant else ""))
    text = "\n\n".join(["# SERAC's original objective against the default (paper mode, plain prompts)",
                        __doc__.split("\n\n", 2)[2].strip().replace("\n", " "),
                        "```\n" + table + "\n```", "```\n" + "\n".join(lines) + "\n* the 95% interval excludes 0 and p < 0.05\n```"])
    results.write_text(args.out, text + "\n")
    print(text)


if __name__ == "__main__":
    main()
