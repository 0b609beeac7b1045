"""SERAC against its targets on the held-out test split, in two settings:

* one edit at a time (EasyEdit's protocol: apply, evaluate, restore), and
* every test edit in memory at once (the lifelong setting: each input meets all edits).

    .venv/bin/python benchmarks/serac_targets.py [--mode paper|ci]

Prints autoregressive edit success, rephrase success and locality agreement, and the
classifier's false-positive rate on hard negatives (same relation, another subject).
Uses the SERAC trained (and cached) by notebook 02 in the same mode; trains it if absent.
"""
import argparse
import time

from editnb import analysis, experiments
from editnb.data.embedded import load_embedded
from editnb.evaluate import EvalConfig, evaluate, pre_edit
from editnb.models import load_model
from editnb.nb import quiet_libraries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="paper", choices=("ci", "paper"))
    args = parser.parse_args()
    quiet_libraries()
    model, tok = load_model()
    test = load_embedded("test")
    editor = experiments.make_editor("SERAC", args.mode)
    start = time.perf_counter()
    cf, classifier = editor.trained(model, tok)
    print(f"SERAC ({args.mode}: {editor.hparams.steps} steps) ready in {time.perf_counter() - start:.1f} s "
          f"(cached after the first training); {len(cf.serac_history)} steps recorded")
    config = EvalConfig(fluency=False)
    pre = pre_edit(model, tok, test, config)
    single = experiments.edit_and_evaluate(editor, model, tok, test, pre=pre, config=config)
    with editor.apply(model, tok, test) as edited:
        full = [dict(r, editor="SERAC") for r in evaluate(edited, tok, test, pre=pre, config=config)]
        hard_full = edited.module.memory.lookup(analysis.scope_examples(test)["hard negative"])[0]
    hard_pair = []
    for request in test:
        with editor.apply(model, tok, [request]) as edited:
            hard_pair += edited.module.memory.lookup(analysis.scope_examples([request])["hard negative"])[0].tolist()
    t = editor.hparams.threshold
    for name, rows, hard in [("one edit at a time", single, hard_pair), (f"all {len(test)} edits in memory", full, hard_full.tolist())]:
        ar = analysis.summarize([r for r in rows if r["protocol"] == "autoregressive"], metrics=("rewrite_acc", "rephrase_acc", "locality"))
        values = ar[("autoregressive",)]
        print(f"{name:28} AR edit {values['rewrite_acc']:.3f}  rephrase {values['rephrase_acc']:.3f}  "
              f"locality {values['locality']:.3f}  hard-negative FPR {sum(s > t for s in hard) / len(hard):.3f}  (n={values['n']})")


if __name__ == "__main__":
    main()
