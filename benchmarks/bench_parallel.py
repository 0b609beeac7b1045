"""Edit-parallel single edits against one-at-a-time and the EasyEdit-style loop, on SmolLM2.

    .venv/bin/python benchmarks/bench_parallel.py [--requests 64] [--loop-requests 8] [--parallel 32]

One run, one table.  For each editor, on the same held-out test requests and the paper
evaluation settings (both protocols, fluency on):
  * edit-parallel: ``apply_each`` on ``--parallel`` edits at once, evaluated in shared batches
    (what the notebooks run);
  * one at a time: apply -> batched evaluate -> restore per request (the notebooks before);
  * EasyEdit-style: apply -> one probe per call, ``generate(use_cache=False)`` -> restore.
The two loops are timed on the first ``--loop-requests`` requests (they are slow) and compared
per edit; every row they produce is checked against the edit-parallel row of the same request.
Achieved FLOP/s counts 2 x parameters per processed token (x3 under autograd) against the
measured float32 matmul peak of this machine.  ``--bf16`` adds the edit-parallel run in bfloat16.
"""
import argparse
import os
import time

import torch

from editnb import experiments
from editnb.data.embedded import load_embedded
from editnb.evaluate import evaluate, pre_edit
from editnb.evaluate.reference import ReferenceScorer
from editnb.models import load_model
from editnb.nb import quiet_libraries

VERDICTS = ("rewrite_acc", "rephrase_acc", "locality", "portability")


class TokenCounter:
    """Tokens through the model (padding included), split by whether autograd was recording."""

    def __init__(self, model):
        self.forward, self.train = 0, 0
        model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            if torch.is_grad_enabled():
                self.train += ids.numel()
            else:
                self.forward += ids.numel()

    def flops(self, n_params):
        return 2 * n_params * (self.forward + 3 * self.train)

    def reset(self):
        self.forward = self.train = 0


def matmul_peak(n=2048, repeats=10, dtype=torch.float32):
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - start)


def easyedit_loop(editor, model, tok, requests, pre, config):
    rows = []
    for r in requests:
        with editor.apply(model, tok, [r]) as edited:
            rows += evaluate(edited, tok, [r], pre=pre, config=config, scorer=ReferenceScorer(use_cache=False))
    return rows


def differences(rows, reference):
    by_key = {(r["id"], r["protocol"]): r for r in reference}
    return sum(r[k] != by_key[(r["id"], r["protocol"])][k] for r in rows for k in VERDICTS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--loop-requests", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=experiments.PARALLEL)
    parser.add_argument("--editors", nargs="+", default=["FT-M", "SERAC"])
    parser.add_argument("--mode", default="paper", help="SERAC's training budget (its weights are cached)")
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    quiet_libraries()
    os.environ.setdefault("EDITNB_PROGRESS", "0")  # one table, no bars
    torch.manual_seed(0)
    model, tok = load_model()
    n_params = sum(p.numel() for p in model.parameters())
    requests = load_embedded("test", n=args.requests)
    loop_requests = requests[:args.loop_requests]
    config = experiments.eval_config("paper", progress=False)
    pre = pre_edit(model, tok, requests, config)
    counter = TokenCounter(model)
    peak, bf16_peak = matmul_peak(), matmul_peak(n=512, repeats=2, dtype=torch.bfloat16)
    print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}; bfloat16 matmul peak {bf16_peak / 1e9:.1f} GFLOP/s "
          f"({bf16_peak / peak:.2f}x float32): " + ("--bf16 is worth a run" if bf16_peak > peak else "bfloat16 would be slower here"))
    print(f"SmolLM2-135M, {torch.get_num_threads()} threads; float32 matmul peak {peak / 1e9:.1f} GFLOP/s; "
          f"{len(requests)} test requests (loops on the first {len(loop_requests)}), {args.parallel} edits at once\n")
    header = f"{'editor':8} {'method':24} {'edits':>5} {'s/edit':>8} {'vs parallel':>11} {'GFLOP/s':>8} {'% peak':>7} {'verdicts differing':>19}"
    print(header)
    for name in args.editors:
        editor = experiments.make_editor(name, args.mode)
        if name == "SERAC":
            editor.trained(model, tok)  # load (or train) before timing
        runs = [("edit-parallel", requests, lambda rs: experiments.edit_and_evaluate(
                    editor, model, tok, rs, pre=pre, config=config, parallel=args.parallel)),
                ("one at a time", loop_requests, lambda rs: experiments.edit_and_evaluate(
                    editor, model, tok, rs, pre=pre, config=config, parallel=None)),
                ("EasyEdit-style loop", loop_requests, lambda rs: easyedit_loop(editor, model, tok, rs, pre, config))]
        if args.bf16:
            runs.append(("edit-parallel, bfloat16", requests, None))
        reference, first = None, None
        for method, rs, run in runs:
            counter.reset()
            start = time.perf_counter()
            if run is None:
                saved = {k: v.clone() for k, v in model.state_dict().items()}
                model.to(torch.bfloat16)
                try:
                    rows = experiments.edit_and_evaluate(editor, model, tok, rs, pre=pre, config=config, parallel=args.parallel)
                finally:
                    model.to(torch.float32)
                    model.load_state_dict(saved)  # float32 -> bfloat16 -> float32 would lose the low bits
            else:
                rows = run(rs)
            elapsed = time.perf_counter() - start
            per_edit = elapsed / len(rs)
            first = first or per_edit
            reference = reference or rows
            flops = counter.flops(n_params) / elapsed
            diff = differences(rows, reference)
            print(f"{name:8} {method:24} {len(rs):5d} {per_edit:8.2f} {per_edit / first:10.1f}x {flops / 1e9:8.1f} "
                  f"{100 * flops / peak:6.1f}% {diff:12d} of {len(rows) * len(VERDICTS)}", flush=True)
    print("\nverdicts differing: rewrite/rephrase/locality/portability scores that differ from the edit-parallel "
          "row of the same request and protocol (SERAC's counterfactual model is not counted in the FLOPs).")


if __name__ == "__main__":
    main()
