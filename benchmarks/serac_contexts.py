"""SERAC's two changes of issue 16, one at a time, in every generation context, in paper mode:
notebook 03's SERAC context section alone.

    .venv/bin/python benchmarks/serac_contexts.py [--n 48] [--out results/serac_contexts.md]

The versions are :data:`editnb.experiments.SERAC_VERSIONS`: the original SERAC (the
counterfactual model trained on the target tokens only, routing on the whole input), each
change alone (the answer ends with EOS; routing on the question read out of the QA or chat
frame) and both (the default).  Two paper-mode trainings serve the four (cached under
``EDITNB_CACHE``), each request is edited alone and asked as a plain prompt, in a QA
instruction and through the chat template, and the rows go to notebook 03's store
(``results/edits``), so ``make figures`` reuses them.  Writes the table with 95% intervals and
the paired differences of each context from the plain prompt, and where each version routes
the probes.
"""
import argparse
import os
import subprocess
import time

from editnb import analysis, decomposition, experiments, models, nb, results
from editnb.data.embedded import load_embedded

SHOWN = ("rewrite_prefix", "rewrite_exact", "rephrase_prefix", "rephrase_exact", "locality")


ROUTED = ("routed_in_scope", "routed_locality")


def report(rows, routing, n: int, seconds: float) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    table = analysis.format_estimates(analysis.estimate_table(rows, SHOWN, ("editor", "context")), SHOWN, ("editor", "context"))
    routed = analysis.format_estimates(analysis.estimate_table(routing, ROUTED, ("editor", "context")), ROUTED, ("editor", "context"))
    diffs = "\n".join(decomposition.format_context_differences(rows, key) for key in ("rewrite_prefix", "rewrite_exact"))
    return "\n\n".join([
        f"# SERAC's two changes, one at a time, by generation context (paper mode, {n} test requests)",
        f"Written by `benchmarks/serac_contexts.py` at commit {commit} in {seconds / 60:.1f} min on 2 CPU cores (training "
        "included). Each request edited alone; greedy generation of 16 new tokens; verdicts of `editnb.evaluate.verdicts`. "
        "*SERAC original*: the counterfactual model trained on the target tokens only, routing on the whole input. "
        "*+ end*: trained to end its answer with EOS. *+ routing*: routing on the question read out of the QA or chat "
        "frame, the counterfactual model reading the edit and that question. *(both)*: the default. "
        "Means over requests with 95% intervals (Wilson for proportions, bootstrap otherwise) and n; paired bootstrap "
        "differences with the exact sign test.",
        "## Where the probes go (share routed to the counterfactual model, per request)", "```\n" + routed + "\n```",
        "## What comes out (generation)", "```\n" + table + "\n```",
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
    routing = experiments.serac_routing(versions, model, tok, requests)
    rows = experiments.context_rows(versions, model, tok, requests, "paper", results.ResultStore(cfg.result("edits")))
    results.write_json(os.path.splitext(args.out)[0] + "_rows.json", {"rows": rows, "routing": routing})
    results.write_text(args.out, report(rows, routing, len(requests), time.perf_counter() - start))
    print(open(args.out).read())


if __name__ == "__main__":
    main()
