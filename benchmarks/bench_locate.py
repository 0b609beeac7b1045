"""Costs of the locate-then-edit editors on SmolLM2, in one run, one table.

    .venv/bin/python benchmarks/bench_locate.py [--edits 8] [--batch 100] [--stats-tokens 100000]

* the time to compute C for ROME's layer and for MEMIT's layers (from an empty statistics
  cache of this run's own: the figures do not depend on what was cached before);
* seconds per ROME edit: one request at a time (``apply``) against ``apply_each`` (the edits'
  v* optimised side by side), the same requests, and whether the two give the same deltas;
* seconds per MEMIT batch of ``--batch`` edits (one ``apply``), and per AlphaEdit batch;
* v* for ``--edits`` edits side by side, whole rows at every step against rows cut at the
  subject's last token (the tokens before it cached), and how far the two v* lie apart.
Edits use the paper-mode settings (the editors' defaults).
"""
import argparse
import os
import tempfile
import time

import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.locate import covariance, keys, memit, rome, values
from editnb.models import load_model
from editnb.nb import quiet_libraries


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--stats-tokens", type=int, default=100_000)
    parser.add_argument("--only-batches", nargs="+", choices=("MEMIT", "AlphaEdit"),
                        help="time only these editors' one batch (C is computed first, untimed)")
    args = parser.parse_args()
    quiet_libraries()
    model, tok = load_model()
    stats_cache = tempfile.mkdtemp(prefix="editnb-bench-")
    # the converted model stays where it is; statistics and prefixes go to a fresh cache
    os.environ["EDITNB_CACHE"] = stats_cache
    requests = load_embedded("test")
    rows = []
    hp = dict(stats_tokens=args.stats_tokens)
    layer = rome.rome_layer(model, None)
    if args.only_batches:
        return _print(rows + [_batch(name, model, tok, requests[:args.batch], hp) for name in args.only_batches])
    _, t = timed(lambda: covariance.second_moment(model, tok, layer, n_tokens=args.stats_tokens))
    rows.append(("C for ROME's layer", f"{t:.1f} s", f"{args.stats_tokens} Wikipedia tokens, layer {layer}"))
    layers = memit.edit_layers(model, memit.MEMITHParams())
    _, t = timed(lambda: covariance.second_moments(model, tok, layers, n_tokens=args.stats_tokens))
    rows.append(("C for MEMIT's layers", f"{t:.1f} s", f"layers {layers}, one pass"))
    editor = get_editor("ROME", **hp)
    editor.apply(model, tok, requests[:1]).restore()  # context prefixes written once
    few = requests[:args.edits]
    singles, t_single = timed(lambda: [_single(editor, model, tok, r) for r in few])
    each, t_each = timed(lambda: editor.apply_each(model, tok, few))
    worst = max(float(torch.linalg.norm(each.deltas.deltas[k] - d) / torch.linalg.norm(d)) for k, d in enumerate(singles))
    each.restore()
    rows.append(("ROME, one edit at a time", f"{t_single / len(few):.2f} s/edit", f"{len(few)} edits"))
    rows.append(("ROME, apply_each", f"{t_each / len(few):.2f} s/edit",
                 f"{t_single / t_each:.2f}x faster; largest relative delta difference {worst:.1e}"))
    module = covariance.mlp_out_module(model, layer)
    prefixes = keys.prefixes_for(model, tok, editor.hparams)
    whole, t_whole = timed(lambda: values.optimise_values(model, tok, module, layer, few, prefixes, editor.hparams, split=False))
    cut, t_cut = timed(lambda: values.optimise_values(model, tok, module, layer, few, prefixes, editor.hparams))
    apart = max(float(torch.linalg.norm(a.delta - b.delta) / torch.linalg.norm(b.delta)) for a, b in zip(cut, whole))
    steps = sum(a.steps == b.steps for a, b in zip(cut, whole))
    rows.append(("v*, whole rows each step", f"{t_whole:.1f} s", f"{len(few)} edits side by side, {len(prefixes)} prefixes"))
    rows.append(("v*, from the subject on", f"{t_cut:.1f} s",
                 f"{t_whole / t_cut:.2f}x faster; largest relative v* difference {apart:.1e}; same steps {steps}/{len(few)}"))
    rows += [_batch(name, model, tok, requests[:args.batch], hp) for name in ("MEMIT", "AlphaEdit")]
    _print(rows)


def _batch(name, model, tok, batch, hp):
    ed = get_editor(name, **hp)
    ed._setup(model, tok)  # C and the prefixes first, cached on disk, outside the timing (the C rows, when they run, time C)
    edited, t = timed(lambda: ed.apply(model, tok, batch))
    edited.restore()
    return (f"{name}, one batch", f"{t:.1f} s", f"{len(batch)} edits, {t / len(batch):.2f} s/edit")


def _print(rows):
    width = max(len(r[0]) for r in rows)
    print(f"{'what':{width}}  {'time':>14}  notes")
    for what, value, note in rows:
        print(f"{what:{width}}  {value:>14}  {note}")


def _single(editor, model, tok, request):
    module = model.get_submodule(covariance.mlp_out_module(model, rome.rome_layer(model, None)))
    before = module.weight.detach().clone()
    with editor.apply(model, tok, [request]):
        return module.weight.detach() - before


if __name__ == "__main__":
    main()
