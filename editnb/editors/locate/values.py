"""v*: the vector that, added to one layer's MLP output at the subject, makes the model say the target.

ROME and MEMIT both find it by optimising a delta δ added to the output of an MLP output
projection at the subject's last token, after every context prefix (the same δ for all of
them).  The loss per edit is ROME's: the mean target NLL over the prefixed prompts, a KL term
on "{subject} is a" that keeps the subject's other properties (KL of the edited distribution
from the unedited one, at the subject's last token, as ROME computes it), and a weight decay
``wd * |δ| / |v_init|²``; after each step |δ| is clamped to ``clamp * |v_init|``.

:func:`optimise_values` runs K edits side by side: each has its own δ (one leaf each), the K
losses are summed, so each δ gets its own edit's gradient and Adam (elementwise) makes the
steps of K separate runs.  An edit whose NLL is below ``stop_nll`` stops there, as a single
run does: its rows leave the batch and its δ gets no gradient, which Adam skips.  The blocks
below the edited one see the same input at every step, so they run once (:class:`Suffix`);
and since δ enters at the subject's last token, the tokens before it give the same keys and
values at every step in the blocks above too: they are computed once, and each step runs only
the subject's last token and what follows it (:class:`_Split`; ``split=False`` runs whole rows,
and ``tests/test_locate.py`` checks that both give the same v*).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...models import cache_dir, model_name
from ...tokenization import encode_prompt_target, left_pad, pad_id
from ...results import save_atomic
from ..suffix import Suffix, supported as suffix_supported
from .covariance import fingerprint
from .keys import _tensor, located, subject_as_written, subject_parts

KL_SUFFIX = " is a"  # ROME's "{subject} is a": the subject's other properties should not move


@dataclass
class Value:
    """One edit's optimised value: ``init`` (the module's output on the bare prompt) + ``delta``."""

    init: torch.Tensor
    delta: torch.Tensor
    steps: int
    nll: float

    @property
    def value(self) -> torch.Tensor:
        return self.init + self.delta


@dataclass
class _Row:
    edit: int
    ids: list[int]
    labels: list[int] | None  # None: the KL row
    pos: int  # the subject's last token


def value_rows(tokenizer, request, prefixes, edit: int) -> list[_Row]:
    """Rows of one edit: the prompt after each prefix with the target (the bare prompt first),
    then "{subject} is a" for the KL term."""
    before, after = subject_parts(request)
    subject = subject_as_written(request, before, after)
    rows = []
    for p in prefixes:
        text, ids, pos = located(tokenizer, p, before, subject, after)
        pair = encode_prompt_target(tokenizer, text, request.target_new)
        if pair.prompt_ids[:pos + 1] != tuple(ids[:pos + 1]):
            raise ValueError(f"request {request.id}: the target {request.target_new!r} merges into the subject's tokens")
        rows.append(_Row(edit, pair.ids, pair.labels, pos))
    _, kl_ids, kl_pos = located(tokenizer, "", "", request.subject, KL_SUFFIX)
    rows.append(_Row(edit, kl_ids, None, kl_pos))
    return rows


class _Batch:
    """Rows left-padded, with the columns the loss reads and each row's subject column."""

    def __init__(self, tokenizer, rows: list[_Row]):
        self.rows = rows
        self.batch = left_pad([r.ids for r in rows], pad_id(tokenizer),
                              labels=[r.labels or [-100] * len(r.ids) for r in rows])
        width = self.batch["input_ids"].shape[1]
        self.cols = torch.tensor([width - len(r.ids) + r.pos for r in rows])
        # the loss reads the logits from the one before the first target token (the KL row: its subject)
        firsts = [width - len(r.ids) + (r.labels.count(-100) - 1 if r.labels else r.pos) for r in rows]
        self.keep = width - min(firsts)
        self.offset = width - self.keep


class _Split:
    """The rows cut before the subject's last token: the part before it runs once through the
    blocks from ``layer`` (its keys and values are kept), the part from it on at every step."""

    def __init__(self, tokenizer, suffix, rows: list[_Row], states):
        self.tokenizer, self.suffix = tokenizer, suffix
        head = left_pad([r.ids[:r.pos] for r in rows], pad_id(tokenizer))
        self.head_mask = head["attention_mask"]
        self.past = suffix.past([s[:r.pos] for s, r in zip(states, rows)], head)
        self.tails = [_Row(r.edit, r.ids[r.pos:], r.labels[r.pos:] if r.labels else None, 0) for r in rows]
        self.starts = torch.tensor([r.pos for r in rows])
        self.states = [s[r.pos:] for s, r in zip(states, rows)]

    def logits(self, keep_rows: list[int], hook_state) -> tuple[torch.Tensor, _Batch]:
        b = _Batch(self.tokenizer, [self.tails[i] for i in keep_rows])
        index = torch.tensor(keep_rows)
        b.batch["position_ids"] = b.batch["position_ids"] + self.starts[index, None]
        hook_state["batch"] = b
        pairs = [(k.index_select(0, index.to(k.device)), v.index_select(0, index.to(v.device))) for k, v in self.past]
        logits = self.suffix.logits([self.states[i] for i in keep_rows], b.batch, b.keep,
                                    past=(pairs, self.head_mask[index]))
        return logits, b


def _forward(model, suffix, states, b: _Batch, hook_state) -> torch.Tensor:
    """Logits at the last ``b.keep`` positions, with the current deltas added by the hook."""
    hook_state["batch"] = b
    inputs = {k: b.batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
    if suffix is not None:
        return suffix.logits(states, inputs, b.keep)
    return model(**inputs, use_cache=False).logits[:, -b.keep:]


def optimise_values(model, tokenizer, module: str, layer: int, requests, prefixes, hp, *, split: bool = True) -> list[Value]:
    """v* for each request, the K edits optimised side by side (see the module docstring).

    ``module`` is the MLP output projection of block ``layer``; ``hp`` has ``v_steps``, ``v_lr``,
    ``kl_factor``, ``v_weight_decay``, ``clamp_norm_factor`` and ``stop_nll``.  ``split``: run
    only the tokens from the subject's last one at each step (where the model allows it)."""
    rows = [row for e, r in enumerate(requests) for row in value_rows(tokenizer, r, prefixes, e)]
    n = len(requests)
    suffix = Suffix(model, layer) if suffix_supported(model) else None
    full = _Batch(tokenizer, rows)
    states = suffix.states(full.batch) if suffix is not None else None
    hook_state = {"batch": None, "deltas": None}

    def add_delta(m, args, out):
        deltas = hook_state["deltas"]
        if deltas is None:
            return out
        b = hook_state["batch"]
        x = _tensor(out)
        index = (torch.arange(len(b.rows), device=x.device), b.cols.to(x.device))
        add = torch.stack([deltas[r.edit] for r in b.rows]).to(x.dtype)
        return x.index_put(index, add, accumulate=True)

    target = model.get_submodule(module)
    handle = target.register_forward_hook(add_delta)
    flags = {p: p.requires_grad for p in model.parameters()}
    try:
        for p in flags:
            p.requires_grad_(False)
        with torch.no_grad():
            capture = {}
            pre = target.register_forward_hook(lambda m, a, out: capture.update(out=_tensor(out).detach()))
            logits = _forward(model, suffix, states, full, hook_state)
            pre.remove()
        first = {}
        for i, r in enumerate(rows):
            first.setdefault(r.edit, i)  # the bare prompt's row
        inits = [capture["out"][first[e], full.cols[first[e]]].float().clone() for e in range(n)]
        kl_rows = {r.edit: i for i, r in enumerate(rows) if r.labels is None}
        kl_init = {e: F.log_softmax(logits[i, full.cols[i] - full.offset].float(), -1) for e, i in kl_rows.items()}
        cut = _Split(tokenizer, suffix, rows, states) if split and suffix is not None and suffix.caches_prefix else None
        deltas = [torch.zeros_like(v, requires_grad=True) for v in inits]
        hook_state["deltas"] = deltas
        optimizer = torch.optim.Adam(deltas, lr=hp.v_lr)
        steps, nlls, done = [hp.v_steps] * n, [float("inf")] * n, [False] * n
        for step in range(1, hp.v_steps + 1):
            active = [e for e in range(n) if not done[e]]
            if not active:
                break
            keep_rows = [i for i, r in enumerate(rows) if not done[r.edit]]
            if cut is not None:
                logits, b = cut.logits(keep_rows, hook_state)
            else:
                b = _Batch(tokenizer, [rows[i] for i in keep_rows])
                logits = _forward(model, suffix, [states[i] for i in keep_rows] if states is not None else None, b, hook_state)
            losses = _losses(logits, b, kl_init, deltas, inits, hp)
            optimizer.zero_grad(set_to_none=True)
            todo = []
            for e in active:
                nll, loss = losses[e]
                nlls[e] = nll.item()
                if nlls[e] < hp.stop_nll:
                    done[e], steps[e] = True, step
                else:
                    todo.append(loss)
            if not todo:
                break
            torch.stack(todo).sum().backward()  # edit e's loss reaches only delta e
            optimizer.step()
            with torch.no_grad():
                for e in active:
                    if not done[e]:
                        limit = hp.clamp_norm_factor * inits[e].norm()
                        if deltas[e].norm() > limit:
                            deltas[e].mul_(limit / deltas[e].norm())
    finally:
        handle.remove()
        for p, flag in flags.items():
            p.requires_grad_(flag)
    return [Value(inits[e], deltas[e].detach().clone(), steps[e], nlls[e]) for e in range(n)]


V_SETTINGS = ("v_steps", "v_lr", "kl_factor", "v_weight_decay", "clamp_norm_factor", "stop_nll")


# Edits whose v* are optimised side by side at most: each brings its prefixes' rows with
# full-vocabulary logits, and a MEMIT batch of 100 edits at once outgrew 24 GiB.
VALUE_CHUNK = 32


def _in_chunks(model, tokenizer, module, layer, requests, prefixes, hp) -> list[Value]:
    """:func:`optimise_values` on at most :data:`VALUE_CHUNK` requests at a time (each edit's v*
    is its own optimisation: chunks change only how many run side by side)."""
    return [v for k in range(0, len(requests), VALUE_CHUNK)
            for v in optimise_values(model, tokenizer, module, layer, requests[k:k + VALUE_CHUNK], prefixes, hp)]


def cached_values(model, tokenizer, module: str, layer: int, requests, prefixes, hp) -> list[Value]:
    """:func:`optimise_values`, each edit's v* read from (or written atomically to)
    ``EDITNB_CACHE/values`` under the model's weight fingerprint, the module, the request's
    content, the prefixes and the v* settings.  MEMIT and AlphaEdit optimise the same v* at the
    same layer with the same settings: the second finds it there.  An edited model has another
    fingerprint; a model carrying forward hooks (per-row deltas) is never cached."""
    if any(m._forward_hooks for m in model.modules()):
        return _in_chunks(model, tokenizer, module, layer, requests, prefixes, hp)
    folder = cache_dir() / "values" / f"{model_name(model)}-{fingerprint(model)}"
    settings = [module, layer, list(prefixes), [getattr(hp, k) for k in V_SETTINGS]]
    paths = [folder / f"{hashlib.sha256(json.dumps([r.prompt, r.subject, r.target_new, settings]).encode()).hexdigest()[:16]}.pt"
             for r in requests]
    found = {i: Value(**torch.load(path)) for i, path in enumerate(paths) if path.is_file()}
    missing = [i for i in range(len(requests)) if i not in found]
    if missing:
        fresh = _in_chunks(model, tokenizer, module, layer, [requests[i] for i in missing], prefixes, hp)
        for i, value in zip(missing, fresh):
            save_atomic(vars(value), paths[i])
            found[i] = value
    return [found[i] for i in range(len(requests))]


def _losses(logits, b: _Batch, kl_init, deltas, inits, hp) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Per edit in the batch: (mean target NLL, total loss)."""
    labels = b.batch["labels"][:, -b.keep:][:, 1:]
    mask = labels != -100
    log_probs = F.log_softmax(logits[:, :-1].float(), -1)
    picked = log_probs.gather(-1, labels.clamp(min=0)[..., None])[..., 0] * mask
    per_row = -picked.sum(1) / mask.sum(1).clamp(min=1)
    out = {}
    for e in dict.fromkeys(r.edit for r in b.rows):
        nll_rows = [i for i, r in enumerate(b.rows) if r.edit == e and r.labels is not None]
        kl_row = next(i for i, r in enumerate(b.rows) if r.edit == e and r.labels is None)
        nll = per_row[nll_rows].mean()
        current = F.log_softmax(logits[kl_row, b.cols[kl_row] - b.offset].float(), -1)
        kl = F.kl_div(kl_init[e], current, log_target=True, reduction="sum")
        decay = hp.v_weight_decay * deltas[e].norm() / inits[e].norm() ** 2
        out[e] = (nll, nll + hp.kl_factor * kl + decay)
    return out
