"""A small hyperparameter sweep of one editor on the dev split (never the test split), on SmolLM2.

    .venv/bin/python benchmarks/sweep_dev.py GRACE --grid eps_init=1,10,20 lr=0.1,1.0 [--requests 32]

Every combination of the grid edits the same dev requests one at a time (side by side where
the editor can) and is scored as notebook 03 scores the test split, without fluency.  The table
gives teacher-forced rewrite token accuracy, and under generation the prefix verdicts of
rewrite and rephrase, the exact verdict of rewrite, and generated-token locality, each a mean
with n; ``score`` is the mean of the four generation columns, the criterion the defaults follow.
"""
import argparse
import itertools
import os

from editnb import experiments
from editnb.data.embedded import load_embedded
from editnb.models import load_model
from editnb.nb import quiet_libraries

COLUMNS = [("teacher_forced", "rewrite_acc"), ("autoregressive", "rewrite_prefix"), ("autoregressive", "rewrite_exact"),
           ("autoregressive", "rephrase_prefix"), ("autoregressive", "locality")]


def value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"None": None, "true": True, "false": False}.get(text, text)


def mean(rows, protocol, key):
    values = [r[key] for r in rows if r["protocol"] == protocol and r.get(key) is not None]
    return sum(values) / len(values) if values else float("nan"), len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("editor")
    parser.add_argument("--grid", nargs="+", default=[], help="name=v1,v2 ...")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--mode", default="paper", help="the training budget of editors that train (SERAC)")
    args = parser.parse_args()
    quiet_libraries()
    os.environ.setdefault("EDITNB_PROGRESS", "0")
    model, tok = load_model()
    requests = experiments.evenly_spaced(load_embedded("dev"), args.requests)
    config = experiments.eval_config("paper", fluency=False, progress=False)
    pre = experiments.pre_edit(model, tok, requests, config)
    grid = {name: [value(v) for v in values.split(",")] for name, values in (g.split("=", 1) for g in args.grid)}
    print(f"{args.editor} on {len(requests)} dev requests (SmolLM2-135M); score = mean of the generation columns\n")
    header = ["setting"] + [f"{'TF' if p == 'teacher_forced' else 'gen'} {k}" for p, k in COLUMNS] + ["score"]
    print("  ".join(f"{h:>18}" for h in header))
    for combo in itertools.product(*grid.values()) if grid else [()]:
        setting = dict(zip(grid, combo))
        editor = experiments.make_editor(args.editor, args.mode, **setting)
        rows = experiments.edit_and_evaluate(editor, model, tok, requests, pre=pre, config=config)
        cells = [mean(rows, p, k) for p, k in COLUMNS]
        score = sum(c[0] for c in cells[1:]) / (len(cells) - 1)
        label = ",".join(f"{k}={v}" for k, v in setting.items()) or "defaults"
        print("  ".join([f"{label:>18}"] + [f"{m:10.3f} n={n:<4}" for m, n in cells] + [f"{score:18.3f}"]))


if __name__ == "__main__":
    main()
