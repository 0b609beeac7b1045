"""Sequential editing curves: the orders of the edits side by side (apply_streams) against one
order after another, on SmolLM2, in one run.

    .venv/bin/python benchmarks/bench_sequential.py [--edits 10] [--orders 3] [--at-most 12]

For each FT editor, the same orders of the same test requests, checkpoints (1, --edits), at most
--at-most edits scored per checkpoint by generation (as notebook 04 does in paper mode): the
seconds of each way, their ratio, and how many scored rows differ between the two (per-edit
deltas are summed in another order, so a near-tie may flip; the tests bound the weights).
"""
import argparse
import os
import time

from editnb import experiments
from editnb.data.embedded import load_embedded
from editnb.editors import Editor
from editnb.models import load_model
from editnb.nb import quiet_libraries


def one_order_after_another(editor, model, tok, orders, checkpoints, **kwargs):
    return [dict(row, ordering=i) for i, order in enumerate(orders)
            for row in experiments.sequential_curve(editor, model, tok, order, checkpoints, **kwargs)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--at-most", type=int, default=12)
    parser.add_argument("--editors", nargs="+", default=["FT-M", "FT-L"])
    args = parser.parse_args()
    quiet_libraries()
    os.environ.setdefault("EDITNB_PROGRESS", "0")
    model, tok = load_model()
    orders = experiments.orderings(load_embedded("test")[:args.edits], args.orders, seed=0)
    checkpoints = (1, args.edits)
    config = experiments.eval_config("paper", fluency=False, progress=False)
    sampled = {r.id: r for o in orders for r in experiments.sequential_sample(o, checkpoints, args.at_most)}
    pre = experiments.pre_edit(model, tok, list(sampled.values()), config)
    kwargs = dict(config=config, pre=pre, evaluate_at_most=args.at_most, protocols=("autoregressive",))
    print(f"SmolLM2-135M, {args.orders} orders of {args.edits} test edits, checkpoints {checkpoints}, paper settings\n")
    print(f"{'editor':8} {'one order after another':>24} {'side by side':>13} {'ratio':>6} {'rows differing':>15}")
    for name in args.editors:
        editor = experiments.make_editor(name, "paper")
        if type(editor).apply_streams is Editor.apply_streams:
            print(f"{name:8} (no apply_streams)")
            continue
        start = time.perf_counter()
        before = one_order_after_another(editor, model, tok, orders, checkpoints, **kwargs)
        alone = time.perf_counter() - start
        start = time.perf_counter()
        after = experiments.sequential_curves(editor, model, tok, orders, checkpoints, **kwargs)
        side = time.perf_counter() - start
        key = lambda r: (r["ordering"], r["n_edits"], r["id"])
        differing = sum(a["rewrite_acc"] != b["rewrite_acc"] or a["locality"] != b["locality"]
                        for a, b in zip(sorted(before, key=key), sorted(after, key=key)))
        print(f"{name:8} {alone:22.1f} s {side:11.1f} s {alone / side:5.2f}x {differing:9d} of {len(after)}")


if __name__ == "__main__":
    main()
