"""Editor costs on SmolLM2: seconds per FT-L / FT-M edit, and SERAC memory add and lookup
time as the memory grows (memory-based editing is unbounded by design).

    .venv/bin/python benchmarks/bench_editors.py [--edits 10]
"""
import argparse
import time
from dataclasses import replace

import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.ft import target_nll
from editnb.editors.scope import EditMemory, ScopeClassifier
from editnb.models import load_model
from editnb.nb import quiet_libraries


def ft_per_edit(model, tok, requests, name):
    editor = get_editor(name)
    with torch.no_grad():
        before = target_nll(model, tok, requests).mean().item()
    start = time.perf_counter()
    with editor.apply(model, tok, requests, sequential=True) as edited:
        elapsed = time.perf_counter() - start
        with torch.no_grad():
            after = target_nll(edited, tok, requests).mean().item()
    print(f"{name}: {elapsed / len(requests):.2f} s per edit ({len(requests)} sequential edits); "
          f"mean target NLL {before:.2f} -> {after:.2f}   hparams {editor.hparams.to_dict()}")


def memory_growth(requests, sizes=(10, 100, 1000, 10000)):
    classifier = ScopeClassifier.load().eval()
    pool = [replace(r, id=f"{r.id}#{k}") for k in range(sizes[-1] // len(requests) + 1) for r in requests]
    queries = [r.prompt for r in requests[:32]]
    print("memory size | add one edit (ms) | look up 32 queries (ms)")
    for size in sizes:
        memory = EditMemory(classifier)
        memory.add(pool[:size], batch_size=256)
        start = time.perf_counter()
        for r in pool[size:size + 20]:
            memory.add([r])
        add_ms = (time.perf_counter() - start) / 20 * 1000
        start = time.perf_counter()
        for _ in range(5):
            memory.lookup(queries)
        lookup_ms = (time.perf_counter() - start) / 5 * 1000
        print(f"{size:11d} | {add_ms:17.1f} | {lookup_ms:22.1f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=10)
    args = parser.parse_args()
    quiet_libraries()
    model, tok = load_model()
    requests = load_embedded("test", n=args.edits)
    for name in ("FT-M", "FT-L"):
        ft_per_edit(model, tok, requests, name)
    memory_growth(load_embedded("train"))


if __name__ == "__main__":
    main()
