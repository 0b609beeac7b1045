"""GRACE (Hartvigsen et al., 2023): a codebook around one MLP output projection.

The projection of a late block is left as it is; a forward hook looks up its *input* at a
token (the key) in a codebook of (key, value, radius, label) entries.  Within the radius of a
key, the projection's output at that token is replaced by the entry's value, a vector trained
so that the model says the edit's target; outside every radius the model runs unchanged.

Which tokens are looked up (``mode``):

* ``"last"`` (EasyEdit's default): the last prompt token, and every later token.  In cached
  generation each step's new token is the last token of its input, so it gets a lookup of its
  own; under teacher forcing the target tokens are looked up the same way, so both protocols
  see the same codebook decisions.
* ``"prompt"`` (the original code's): the last prompt token is looked up and, on a hit, every
  prompt token gets the value; later tokens as for ``"last"``.

The prompt's end is read per call (the labels under teacher forcing, the last column of a
prompt otherwise), never kept from the last edit (EasyEdit carries the key position of the
last edit into inference).  A new edit adds an entry, widens the radius of the nearest entry
of the same label, or splits the radii of two nearest entries whose labels differ; labels are
the target's token ids, compared as sequences (EasyEdit compares the means of label id
tensors, which the prompt's -100 entries shift).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ...tokenization import encode, encode_prompt_target, left_pad, pad_id
from .. import register
from ..base import EditedModel, Editor, RowEdits, unwrap, unwrap_adding
from ..ft import TargetNLL
from ..hparams import HyperParams
from ..suffix import Suffix, supported as suffix_supported
from .hooked import HookedModel, hooked_layer, hooked_projection, prompt_ends, request_seed, traced_continue

MODES = ("last", "prompt")


@dataclass(frozen=True)
class GRACEHParams(HyperParams):
    """GRACE's settings.

    layer: the block whose MLP output projection is wrapped (None: ``depth`` of the way up,
    EasyEdit's block 27 of 32 on Llama-7B); eps_init: a new key's radius (Euclidean, in the
    units of the projection's input); mode: ``"last"`` or ``"prompt"`` (module docstring);
    value_init: ``"cold"`` (uniform in [0, 1), EasyEdit) or ``"warm"`` (the projection's output
    at the key); lr, steps: Adam on the value; stop_nll: stop once the target's NLL is below it
    (None: run every step, as EasyEdit does); batch_size: rows per pass in ``apply_each``.
    """

    layer: int | None = None
    depth: float = 0.85
    eps_init: float = 1.0
    mode: str = "last"
    value_init: str = "cold"
    lr: float = 1.0
    steps: int = 50
    stop_nll: float | None = None
    batch_size: int = 16

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.value_init not in ("cold", "warm"):
            raise ValueError(f"value_init must be 'cold' or 'warm', got {self.value_init!r}")


grace_layer = hooked_layer  # (GRACEHParams' layer and depth)


class Codebook:
    """GRACE's entries: keys (the projection's input), values (its replacement output), radii,
    and labels (the target's token ids).  Values are leaves while they train."""

    def __init__(self):
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.radii: list[float] = []
        self.labels: list[tuple[int, ...]] = []

    def __len__(self):
        return len(self.keys)

    def add(self, key, value, radius: float, label) -> int:
        self.keys.append(key.detach().float())
        self.values.append(value.detach().float().clone())
        self.radii.append(float(radius))
        self.labels.append(tuple(label))
        return len(self.keys) - 1

    def nearest(self, query: torch.Tensor) -> tuple[float, int]:
        distances = torch.stack(self.keys).to(query.device).sub(query.float()).norm(dim=-1)
        j = int(distances.argmin())
        return float(distances[j]), j

    def write(self, query, label, eps_init: float, init) -> int:
        """GRACE's rules for a new edit's key; returns the entry whose value the edit trains.

        Beyond every ball (farther than ``eps_init`` plus the nearest radius): a new entry.  Within
        reach of the nearest entry: the same label widens its radius to the query (the entry is
        trained on the new prompt too); another label splits the gap, each radius half the
        distance, and the new key gets its own entry.  ``init()`` gives a new entry's value."""
        label = tuple(label)
        if not self.keys:
            return self.add(query, init(), eps_init, label)
        d, j = self.nearest(query)
        if d > eps_init + self.radii[j]:
            return self.add(query, init(), eps_init, label)
        if self.labels[j] != label:
            self.radii[j] = d / 2 - 1e-5  # the query just outside the old ball, inside the new one
            return self.add(query, init(), d / 2, label)
        self.radii[j] = max(self.radii[j], d)
        return j


class Lookup:
    """The forward hook on the wrapped projection: looks tokens up and replaces hits.

    Per call, ``starts[b]`` is row b's first looked-up column (the last prompt token; the last
    column when not set) and ``mask`` the attention mask; with ``row_edits`` (``apply_each``),
    row b consults entry ``row_edits.current()[b]`` only.  ``trace``, when a list, receives one
    (row, column, distance, radius, entry, hit) tuple per lookup."""

    def __init__(self, module, codebook: Codebook, mode: str, row_edits: RowEdits | None = None):
        self.module, self.codebook, self.mode, self.row_edits = module, codebook, mode, row_edits
        self.starts = self.mask = None
        self.trace: list | None = None
        self.handle = module.register_forward_hook(self._hook)

    @contextmanager
    def call(self, starts=None, mask=None):
        previous = self.starts, self.mask
        self.starts, self.mask = starts, mask
        try:
            yield
        finally:
            self.starts, self.mask = previous

    def _hook(self, module, args, output):
        if not len(self.codebook):
            return output
        x = args[0]
        rows, width = x.shape[:2]
        device = x.device
        starts = self.starts.to(device) if self.starts is not None else torch.full((rows,), width - 1, device=device)
        looked = torch.arange(width, device=device)[None, :] >= starts[:, None]
        b, t = looked.nonzero(as_tuple=True)
        queries = x[b, t].float()
        keys = torch.stack(self.codebook.keys).to(device)
        radii = torch.tensor(self.codebook.radii, device=device)
        if self.row_edits is not None:
            entry = self.row_edits.current(rows).to(device)[b]
            distance = (queries - keys[entry]).norm(dim=-1)
        else:
            distance, entry = torch.cdist(queries, keys, compute_mode="donot_use_mm_for_euclid_dist").min(-1)  # exact: a key's own query is at 0
        hit = distance <= radii[entry]
        if self.trace is not None:
            self.trace += list(zip(b.tolist(), t.tolist(), distance.tolist(), radii[entry].tolist(), entry.tolist(), hit.tolist()))
        if not bool(hit.any()):
            return output
        b, t, entry = b[hit], t[hit], entry[hit]
        # only the entries hit: a value not used here must get no gradient at all (a zero one would
        # still move it under Adam's momentum), e.g. an edit that has stopped training
        used, entry = entry.unique(return_inverse=True)
        values = torch.stack([self.codebook.values[j] for j in used.tolist()]).to(device=device, dtype=output.dtype)
        if self.mode == "prompt":  # a hit at the last prompt token gives every prompt token the value
            at_start = t == starts[b]
            before = torch.arange(width, device=device)[None, :] < starts[b[at_start], None]
            if self.mask is not None:
                before &= self.mask.to(device)[b[at_start]].bool()
            pb, pt = before.nonzero(as_tuple=True)
            b, t, entry = torch.cat([b, b[at_start][pb]]), torch.cat([t, pt]), torch.cat([entry, entry[at_start][pb]])
        return output.index_put((b, t), values[entry])

    def remove(self) -> None:
        self.handle.remove()


@torch.no_grad()
def key_inputs(model, tokenizer, module, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The projection's input and its own output (before any lookup replaces it) at each prompt's
    last token: (keys, outputs)."""
    captured = {}
    handle = module.register_forward_hook(lambda m, args, out: captured.update(x=args[0][:, -1].float(), y=out[:, -1].float()),
                                          prepend=True)
    try:
        batch = left_pad([encode(tokenizer, p) for p in prompts], pad_id(tokenizer))
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"], use_cache=False)
    finally:
        handle.remove()
    return captured["x"], captured["y"]


def cold_value(request, size: int) -> torch.Tensor:
    """EasyEdit's random initial value, seeded by the edit itself (the same alone or side by side)."""
    return torch.rand(size, generator=torch.Generator().manual_seed(request_seed(request.prompt, request.target_new)))


@register
class GRACE(Editor):
    """GRACE: edits live in a codebook consulted at one layer; the weights never change."""

    name = "GRACE"
    HParams = GRACEHParams

    def _module(self, base):
        return hooked_projection(base, self.hparams)

    def _init(self, request, output):
        return cold_value(request, output.shape[-1]) if self.hparams.value_init == "cold" else output

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        """Write each request into the codebook, one after another (GRACE's edits are sequential by
        nature; ``sequential`` changes nothing).  An EditedModel of GRACE gets the new edits added."""
        base, prior = unwrap_adding(model, GRACE)
        if prior is not None:
            edited = prior
        else:
            lookup = Lookup(self._module(base), Codebook(), self.hparams.mode)
            edited = EditedModel(HookedModel(base, lookup), base, self, lookup.remove, [])
            edited.steps = []
        lookup = edited.module.hook
        for request in requests:
            keys, outputs = key_inputs(base, tokenizer, lookup.module, [request.prompt])
            label = encode_prompt_target(tokenizer, request.prompt, request.target_new).target_ids
            entry = lookup.codebook.write(keys[0], label, self.hparams.eps_init, lambda: self._init(request, outputs[0]))
            edited.steps += self._train(base, tokenizer, lookup, [request], [entry])
            edited.requests.append(request)
        return edited

    def apply_each(self, model, tokenizer, requests) -> EditedModel:
        """Every request as its own one-entry codebook, trained side by side (see
        ``Editor.apply_each``): row b looks up its own edit's entry only."""
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        requests = list(requests)
        row_edits = RowEdits()
        lookup = Lookup(self._module(base), Codebook(), self.hparams.mode, row_edits=row_edits)
        for start in range(0, len(requests), 64):
            chunk = requests[start:start + 64]
            keys, outputs = key_inputs(base, tokenizer, lookup.module, [r.prompt for r in chunk])
            for r, key, out in zip(chunk, keys, outputs):
                label = encode_prompt_target(tokenizer, r.prompt, r.target_new).target_ids
                lookup.codebook.add(key, self._init(r, out), self.hparams.eps_init, label)
        steps = self._train(base, tokenizer, lookup, requests, list(range(len(requests))), rows=row_edits)
        edited = EditedModel(HookedModel(base, lookup), base, self, lookup.remove, requests, row_edits=row_edits)
        edited.steps = steps
        return edited

    def _train(self, model, tokenizer, lookup: Lookup, requests, entries: list[int], rows: RowEdits | None = None) -> list[int]:
        """Adam on the values of ``entries`` (entry k for request k) against each target's NLL,
        side by side; an edit whose NLL falls below ``stop_nll`` stops (its value gets no more
        gradient, which Adam skips).  Returns each edit's step count."""
        hp, n = self.hparams, len(requests)
        values = lookup.codebook.values
        leaves = [values[e].requires_grad_(True) for e in entries]
        optimizer = torch.optim.Adam(leaves, lr=hp.lr)
        layer = grace_layer(model, hp)
        suffix = Suffix(model, layer) if suffix_supported(model) else None
        states = {}
        steps, done = [hp.steps] * n, [False] * n
        flags = {p: p.requires_grad for p in model.parameters()}
        try:
            for p in flags:
                p.requires_grad_(False)
            for step in range(hp.steps):
                active = [k for k in range(n) if not done[k]]
                if not active:
                    break
                optimizer.zero_grad(set_to_none=True)
                losses = {}
                for i in range(0, len(active), hp.batch_size):
                    ids = active[i:i + hp.batch_size]
                    batch = TargetNLL.batch(tokenizer, [requests[k] for k in ids])
                    loss = self._losses(model, suffix, states, batch, ids, entries, lookup, rows, requests, tokenizer)
                    if loss.requires_grad:  # (no lookup hit: nothing to train)
                        loss.sum().backward()  # edit k's loss reaches only its value
                    losses.update(zip(ids, loss.detach().tolist()))
                optimizer.step()
                for k in active:
                    if hp.stop_nll is not None and losses[k] < hp.stop_nll:
                        done[k], steps[k] = True, step + 1
        finally:
            for p, flag in flags.items():
                p.requires_grad_(flag)
            for e in entries:
                values[e] = values[e].detach()
        return steps

    @staticmethod
    def _losses(model, suffix, states, batch, ids, entries, lookup, rows, requests, tokenizer) -> torch.Tensor:
        """The target NLL of requests ``ids`` with the lookup on (blocks below GRACE's run once per request)."""
        keep = TargetNLL.keep(batch)
        starts = prompt_ends(batch["labels"])
        context = rows([entries[k] for k in ids], len(lookup.codebook)) if rows is not None else _no_rows()
        with context, lookup.call(starts, batch["attention_mask"]):
            if suffix is None:
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                               position_ids=batch["position_ids"], use_cache=False).logits[:, -keep:]
            else:
                for k in ids:
                    if k not in states:
                        one = TargetNLL.batch(tokenizer, [requests[k]])
                        states[k] = suffix.states(one)[0]
                logits = suffix.logits([states[k] for k in ids], batch, keep)
        return TargetNLL.losses(logits, batch)


@contextmanager
def _no_rows():
    yield


@torch.no_grad()
def lookup_trace(edited: EditedModel, tokenizer, prompt: str, max_new_tokens: int = 8) -> dict:
    """What GRACE's codebook does while ``edited`` (a GRACE EditedModel of ``apply``) answers
    ``prompt`` greedily with the KV cache: ``generated`` (the text) and ``lookups``, one per
    looked-up token (the prompt's last token, then each generated one that was fed back) with
    the token, its distance to the nearest key, that key's radius, and whether the value
    replaced the output there."""
    new, last, trace = traced_continue(edited, tokenizer, prompt, max_new_tokens)
    # each forward pass looks up its last token: the prompt's, then each generated one but the last
    tokens = [last] + new[:-1]
    return {"generated": tokenizer.decode(new, skip_special_tokens=True),
            "lookups": [{"token": tokenizer.decode([tok]), "distance": d, "radius": radius, "entry": e, "hit": hit}
                        for tok, (_, _, d, radius, e, hit) in zip(tokens, trace)]}


def format_trace(trace: dict) -> str:
    """:func:`lookup_trace` as lines: the generated text, then each token looked up with its
    distance to the nearest key against that key's radius, and whether the value replaced the output."""
    lines = [f"generated {trace['generated']!r}", f"{'looked-up token':>18}  {'distance':>9}  {'radius':>8}  value"]
    for row in trace["lookups"]:
        lines.append(f"{row['token']!r:>18}  {row['distance']:9.2f}  {row['radius']:8.2f}  {'replaced' if row['hit'] else '-'}")
    return "\n".join(lines)
