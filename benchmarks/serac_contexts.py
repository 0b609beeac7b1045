"""SERAC before and after issue 16, in every generation context, in paper mode: notebook 03's
context section for SERAC alone.

    .venv/bin/python benchmarks/serac_contexts.py [--n 48] [--out results/serac_contexts.md]

*Before* is the original SERAC (the counterfactual model trained on the target tokens only,
routing on the whole input); *after* the default (the answer ends with EOS, routing on the
question read out of the QA or chat frame).  Both are trained with paper-mode budgets (cached
under ``EDITNB_CACHE``), each request is edited alone and asked as a plain prompt, in a QA
instruction and through the chat template, and the rows go to notebook 03's store
(``results/edits``), so ``make figures`` reuses them.  Writes the table with 95% intervals and
the paired differences of each context from the plain prompt.
"""
import argparse
import os
import subprocess
import time

from editnb import analysis, decomposition, experiments, models, nb, results
from editnb.data.embedded import load_embedded

SHOWN = ("rewrite_prefix", "rewrite_exact", "rephrase_prefix", "rephrase_exact", "locality")


def report(rows, n: int, seconds: float) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    table = analysis.format_estimates(analysis.estimate_table(rows, SHOWN, ("editor", "context")), SHOWN, ("editor", "context"))
    diffs = "\n".join(decomposition.format_context_differences(rows, key) for key in ("rewrite_prefix", "rewrite_exact"))
    return "\n\n".join([
        f"# SERAC before and after, by generation context (paper mode, {n} test requests)",
        f"Written by `benchmarks/serac_contexts.py` at commit {commit} in {seconds / 60:.1f} min on 2 CPU cores (training "
        "included). Each request edited alone; greedy generation of 16 new tokens; verdicts of `editnb.evaluate.verdicts`. "
        "*SERAC before*: the counterfactual model trained on the target tokens only, routing on the whole input. "
        "*SERAC after* (the default): the answer ends with EOS, routing on the question read out of the frame. "
        "Means with 95% intervals (Wilson) and n; paired bootstrap differences with the exact sign test.",
        "```\n" + table + "\n```",
        "## Each context against the plain prompt (paired)", "```\n" + diffs + "\n```",
    ]) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48, help="test requests, evenly spaced over the test split")
    parser.add_argument("--out", default="results/serac_contexts.md")
    args = parser.parse_args()
    os.environ.setdefault("EDITNB_PROGRESS", "0")
    start = time.perf_counter()
    cfg = nb.setup(seed=0, mode="paper")
    model, tok = models.load_model()
    # the first requests of notebook 03's (evenly spaced) list, as its context section takes them
    requests = experiments.evenly_spaced(load_embedded("test"), experiments.N_REQUESTS["paper"])[: args.n]
    versions = {label: experiments.make_editor("SERAC", "paper", **changes) for label, changes in experiments.SERAC_VERSIONS.items()}
    rows = experiments.context_rows(versions, model, tok, requests, "paper", results.ResultStore(cfg.result("edits")))
    results.write_json(os.path.splitext(args.out)[0] + "_rows.json", rows)
    results.write_text(args.out, report(rows, len(requests), time.perf_counter() - start))
    print(open(args.out).read())


if __name__ == "__main__":
    main()
