"""How much the default model knows before any edit: greedy completions of the embedded dataset's true facts.

    .venv/bin/python benchmarks/known_facts.py [--split all|train|dev|test]
"""
import argparse
import time

from editnb.data.embedded import SPLITS, load_embedded
from editnb.evaluate import EvalConfig
from editnb.evaluate.knowledge import knows_facts, share_by_relation
from editnb.models import load_model
from editnb.nb import quiet_libraries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="all", choices=("all", *SPLITS))
    args = parser.parse_args()
    quiet_libraries()
    model, tok = load_model()
    splits = SPLITS if args.split == "all" else (args.split,)
    requests = [r for s in splits for r in load_embedded(s)]
    start = time.perf_counter()
    rows = knows_facts(model, tok, requests, EvalConfig(batch_size=32))
    shares = share_by_relation(rows)
    print(f"{len(rows)} facts, {time.perf_counter() - start:.1f} s")
    for rel, share in shares.items():
        n = sum(r["relation"] == rel for r in rows) if rel != "all" else len(rows)
        print(f"{rel:24} {share:6.3f}  (n={n})")


if __name__ == "__main__":
    main()
