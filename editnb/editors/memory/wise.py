"""WISE (Wang et al., 2024): a side copy of one late MLP output projection, and a router.

The projection W of a late block (the main memory) is left as it is.  Edits train a side
memory W' = W + delta; a forward hook adds ``delta`` applied to the projection's input, for the
rows the router sends to the side memory.  Routing reads the *activation score* of a row in one
forward call: per token, ||act(W'a) - act(Wa)|| (``act``: the model's hidden activation, applied
as EasyEdit's code does; the paper's formula has none), averaged over the row's real tokens.  A
row goes to the side memory when its score reaches ``act_ratio`` times the smallest score an
edit's own prompt had after training.

Training one edit (SGD, ``steps`` at most) minimises the target's NLL through the side memory
plus WISE's margin terms on the scores: an edit's own input must score above ``beta``, inputs
unrelated to it (prompts of the train split, drawn per edit) below ``alpha``, and the edit above
them by ``gamma``.  Only a random ``mask_ratio`` of delta's entries trains (one mask per shard of
``shard_size`` edits: WISE's knowledge shards), and delta stays within ``norm_constraint`` of W
entry by entry.  A full shard is saved as a memory of its own; every ``merge_shards`` saved
shards are merged into one by TIES.  A row then goes to the memory that scores highest above its
own threshold, or to the main memory.

With the KV cache, a generated token is routed by its own score alone (its forward call has that
one token): the decision made on the prompt does not carry over.  That is the mechanism notebook
03 shows.  Fixed against EasyEdit's code: padding never enters a score, routing is per row
(EasyEdit's fails on batches), the threshold is read after the last step, weight decay stays
inside the mask, masks are seeded, and no state is kept at module level.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from transformers.activations import ACT2FN

from ...tokenization import encode, join_prompt_target, left_pad, pad_id
from ...data.answers import primary
from .. import register
from ..base import EditedModel, Editor, RowEdits, unwrap, unwrap_adding
from ..deltas import is_transposed
from ..ft import TargetNLL
from ..hparams import HyperParams
from ..suffix import Suffix, supported as suffix_supported
from .hooked import HookedModel, hooked_layer, hooked_projection, request_seed, traced_continue


@dataclass(frozen=True)
class WISEHParams(HyperParams):
    """WISE's settings (EasyEdit's Llama-2-7B file where it has one; act_ratio from the dev sweep
    in ``results/dev_sweeps.md``: 0.5, where EasyEdit's 0.88 sent half the edit prompts to the
    main memory under generation on SmolLM2).

    layer / depth: the block whose MLP output projection gets the side memory (None: ``depth``
    of the way up; EasyEdit's block 27 of 32); mask_ratio: the share of delta's entries one
    shard trains; lr, steps, weight_decay: plain SGD per edit; norm_constraint: |delta| bound per
    entry (None: none); alpha, beta, gamma: the margin terms (module docstring); act_ratio: the
    routing threshold as a share of the smallest edit score; n_unrelated: unrelated prompts per
    edit, from the ``pool`` split; shard_size, merge_shards: edits per shard and saved shards per
    TIES merge; density: the share of each shard's entries TIES keeps; stop_loss, stop_change: an
    edit stops once its loss is below ``stop_loss`` and changed by at most ``stop_change`` in a step; seed: of the masks and the unrelated draws;
    batch_size: edits per pass in ``apply_each``.
    """

    layer: int | None = None
    depth: float = 0.85
    mask_ratio: float = 0.2
    lr: float = 1.0
    steps: int = 70
    weight_decay: float = 1e-5
    norm_constraint: float | None = 1.0
    alpha: float = 5.0
    beta: float = 20.0
    gamma: float = 10.0
    act_ratio: float = 0.5
    n_unrelated: int = 4
    pool: str = "train"
    shard_size: int = 500
    merge_shards: int = 2
    density: float = 0.53
    stop_loss: float = 0.02
    stop_change: float = 1e-4
    seed: int = 0
    batch_size: int = 16


wise_layer = hooked_layer  # (WISEHParams' layer and depth)


def shard_mask(shape, ratio: float, seed: int, shard: int) -> torch.Tensor:
    """The 0/1 mask of the entries shard ``shard`` trains (seeded: the same alone or side by side)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + shard)
    return (torch.rand(shape, generator=g) < ratio).float()


def ties_merge(deltas: list[torch.Tensor], density: float) -> torch.Tensor:
    """TIES: keep each delta's ``density`` largest entries by magnitude, elect each entry's sign by
    the sum of what is kept, and average the kept entries that agree with it."""
    kept = []
    for d in deltas:
        k = max(1, int(round(density * d.numel())))
        cut = d.abs().flatten().kthvalue(d.numel() - k + 1).values
        kept.append(torch.where(d.abs() >= cut, d, torch.zeros_like(d)))
    stacked = torch.stack(kept)
    sign = torch.where(stacked.sum(0) >= 0, 1.0, -1.0)
    agree = (torch.sign(stacked) == sign) & (stacked != 0)
    count = agree.sum(0).clamp(min=1)
    return (stacked * agree).sum(0) / count


class SideMemory:
    """The forward hook on the projection: side memories (``deltas``, with the smallest edit score
    of each, ``min_acts``) and the router.

    Without ``row_edits`` every row may go to any memory; with them (``apply_each``), row b
    consults memory ``row_edits.current()[b]`` only.  While ``forced`` holds a memory index per
    row, rows go to those memories unrouted (training).  ``trace``, when a list, receives one
    (row, highest score, memory routed to or -1) tuple per row and call."""

    def __init__(self, module, activation, conv1d: bool, act_ratio: float, row_edits: RowEdits | None = None):
        self.module, self.act, self.conv1d, self.act_ratio = module, activation, conv1d, act_ratio
        self.row_edits = row_edits
        self.deltas: list[torch.Tensor] = []
        self.min_acts: list[float] = []
        self.forced: torch.Tensor | None = None
        self.mask = None
        self.trace: list | None = None
        self.off = False  # True while the main memory alone runs (reading the projection's inputs)
        self.handle = module.register_forward_hook(self._hook)

    @contextmanager
    def call(self, starts=None, mask=None):
        previous = self.mask
        self.mask = mask
        try:
            yield
        finally:
            self.mask = previous

    def add(self, delta: torch.Tensor, min_act: float = math.inf) -> int:
        self.deltas.append(delta)
        self.min_acts.append(min_act)
        return len(self.deltas) - 1

    def extra(self, a: torch.Tensor, memories: torch.Tensor) -> torch.Tensor:
        """What memory ``memories[b]`` adds to row b's output: its delta applied to the input ``a``
        (each memory's rows in one matmul, reading the delta where it lies)."""
        out = None
        for j in memories.unique().tolist():
            d = self.deltas[j].to(device=a.device, dtype=a.dtype)
            d = d if self.conv1d else d.T
            if out is None and bool((memories == j).all()):
                return a @ d
            rows = (memories == j).nonzero().flatten()
            part = a[rows] @ d
            out = (a.new_zeros(*a.shape[:-1], part.shape[-1]) if out is None else out).index_put((rows,), part)
        return out

    def scores(self, main: torch.Tensor, extra: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Each row's activation score: the mean over its real tokens of ||act(side) - act(main)||."""
        per_token = (self.act(main + extra) - self.act(main)).float().norm(dim=-1)
        if mask is None:
            return per_token.mean(-1)
        mask = mask.float()
        return (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)

    def _hook(self, module, args, output):
        a = args[0]
        rows, width = a.shape[:2]
        if self.forced is not None:
            return output + self.extra(a, self.forced.to(a.device))
        if self.off or not self.deltas:
            return output
        mask = self.mask[:, -width:].to(a.device) if self.mask is not None else None
        if self.row_edits is not None:
            candidates = [self.row_edits.current(rows).to(a.device)]
        else:
            candidates = [torch.full((rows,), j, device=a.device) for j in range(len(self.deltas))]
        thresholds = torch.tensor(self.min_acts, device=a.device) * self.act_ratio
        best = torch.full((rows,), -math.inf, device=a.device)  # the highest score of any memory
        chosen = torch.full((rows,), -1, device=a.device)  # the memory routed to (-1: the main one)
        added = torch.zeros_like(output)
        for memories in candidates:
            extra = self.extra(a, memories)
            score = self.scores(output, extra, mask)
            win = (score >= thresholds[memories]) & (score > best)
            chosen = torch.where(win, memories, chosen)
            added = torch.where(win[:, None, None], extra, added)
            best = torch.maximum(best, score)
        if self.trace is not None:
            self.trace += [(b, float(s), int(c)) for b, (s, c) in enumerate(zip(best, chosen))]
        return output + added

    def remove(self) -> None:
        self.handle.remove()


@torch.no_grad()
def projection_io(model, tokenizer, memory: SideMemory, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The projection's input and its own output over each text's tokens (no padding): [(a, main)]."""
    captured = {}
    handle = memory.module.register_forward_hook(lambda m, args, out: captured.update(a=args[0].detach(), y=out.detach()))
    memory.off = True
    try:
        batch = left_pad([encode(tokenizer, t) for t in texts], pad_id(tokenizer))
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"], use_cache=False)
    finally:
        handle.remove()
        memory.off = False
    mask = batch["attention_mask"].bool()
    return [(captured["a"][i][mask[i]], captured["y"][i][mask[i]]) for i in range(len(texts))]


def positive_mean(v: torch.Tensor) -> torch.Tensor:
    """WISE's hinge: the mean of the positive entries (0 when none is)."""
    positive = v.clamp(min=0)
    return positive.sum() / (positive > 0).sum().clamp(min=1)


@register
class WISE(Editor):
    """WISE: edits live in a routed side copy of one MLP projection; the weights never change."""

    name = "WISE"
    HParams = WISEHParams

    def __init__(self, hparams=None, *, unrelated: list[str] | None = None, **overrides):
        super().__init__(hparams, **overrides)
        self.unrelated = unrelated  # texts the margin loss keeps off the side memory (None: the pool split)

    def pool(self) -> list[str]:
        if self.unrelated is None:
            from ...data.embedded import load_embedded

            self.unrelated = [join_prompt_target(r.prompt, primary(r.ground_truth)) for r in load_embedded(self.hparams.pool)
                              if r.ground_truth]
        return self.unrelated

    def unrelated_for(self, request) -> list[str]:
        """``n_unrelated`` texts of the pool, drawn by a seed of the request (the same alone or side by side)."""
        pool = self.pool()
        seed = request_seed(str(self.hparams.seed), request.prompt, request.target_new)
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed)).tolist()
        return [pool[i] for i in order[:self.hparams.n_unrelated]]

    def _memory(self, base, row_edits=None) -> SideMemory:
        module = hooked_projection(base, self.hparams)
        activation = getattr(base.config, "hidden_act", None) or base.config.activation_function  # GPT-2 names it so
        return SideMemory(module, ACT2FN[activation], is_transposed(module), self.hparams.act_ratio, row_edits)

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        """Train each request into the current shard of the side memory, one after another (WISE
        edits one at a time; ``sequential`` changes nothing).  An EditedModel of WISE gets the new
        edits added."""
        base, prior = unwrap_adding(model, WISE)
        hp = self.hparams
        if prior is not None:
            edited = prior
        else:
            memory = self._memory(base)
            edited = EditedModel(HookedModel(base, memory), base, self, memory.remove, [])
            edited.steps, edited.shards, edited.current, edited.in_shard, edited.unmerged = [], 0, None, 0, 0
        memory = edited.module.hook
        weight = memory.module.weight
        for request in requests:
            if edited.current is None:
                edited.current = memory.add(torch.zeros_like(weight, dtype=torch.float32))
                edited.mask = shard_mask(weight.shape, hp.mask_ratio, hp.seed, edited.shards)
            steps, acts = self._train(base, tokenizer, memory, [request], [edited.current], edited.mask)
            memory.min_acts[edited.current] = min(memory.min_acts[edited.current], acts[0])
            edited.steps += steps
            edited.requests.append(request)
            edited.in_shard += 1
            if edited.in_shard == hp.shard_size:  # the shard is full: it stays as a memory of its own
                edited.shards, edited.current, edited.in_shard, edited.unmerged = edited.shards + 1, None, 0, edited.unmerged + 1
                if edited.unmerged == hp.merge_shards:
                    self._merge(memory, hp.merge_shards)
                    edited.unmerged = 0
        return edited

    def _merge(self, memory: SideMemory, m: int) -> None:
        """The last ``m`` saved shards become one memory (TIES), with the smallest of their thresholds."""
        deltas, acts = memory.deltas[-m:], memory.min_acts[-m:]
        del memory.deltas[-m:], memory.min_acts[-m:]
        memory.add(ties_merge(deltas, self.hparams.density), min(acts))

    def apply_each(self, model, tokenizer, requests) -> EditedModel:
        """Every request as its own side memory (each the first edit of a fresh shard, as ``apply``
        makes a single edit), trained side by side; row b consults its own edit's memory only."""
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        requests = list(requests)
        row_edits = RowEdits()
        memory = self._memory(base, row_edits)
        weight = memory.module.weight
        for _ in requests:
            memory.add(torch.zeros_like(weight, dtype=torch.float32))
        mask = shard_mask(weight.shape, self.hparams.mask_ratio, self.hparams.seed, 0)
        steps, acts = [], []
        for start in range(0, len(requests), self.hparams.batch_size):
            ids = list(range(start, min(start + self.hparams.batch_size, len(requests))))
            s, a = self._train(base, tokenizer, memory, [requests[k] for k in ids], ids, mask)
            steps, acts = steps + s, acts + a
        memory.min_acts[:] = acts
        edited = EditedModel(HookedModel(base, memory), base, self, memory.remove, requests, row_edits=row_edits)
        edited.steps = steps
        return edited

    def _train(self, model, tokenizer, memory: SideMemory, requests, slots: list[int], mask: torch.Tensor):
        """SGD on the deltas ``slots`` (request k trains slot k) against the target NLL through the
        side memory plus the margin terms; returns each edit's step count and its final score."""
        hp, n = self.hparams, len(requests)
        deltas = [memory.deltas[j] for j in slots]
        own = projection_io(model, tokenizer, memory, [join_prompt_target(r.prompt, r.target_new) for r in requests])
        others = [projection_io(model, tokenizer, memory, self.unrelated_for(r)) for r in requests]
        batch = TargetNLL.batch(tokenizer, requests)
        keep = TargetNLL.keep(batch)
        suffix = Suffix(model, wise_layer(model, hp)) if suffix_supported(model) else None
        states = suffix.states(batch) if suffix is not None else None
        steps, done, last = [hp.steps] * n, [False] * n, [math.inf] * n
        flags = {p: p.requires_grad for p in model.parameters()}
        try:
            for p in flags:
                p.requires_grad_(False)
            for d in deltas:
                d.requires_grad_(True)
            for step in range(hp.steps):
                active = [k for k in range(n) if not done[k]]
                if not active:
                    break
                memory.forced = torch.tensor(slots)
                try:
                    if suffix is None:
                        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                       position_ids=batch["position_ids"], use_cache=False).logits[:, -keep:]
                    else:
                        logits = suffix.logits(states, batch, keep)
                finally:
                    memory.forced = None
                nll = TargetNLL.losses(logits, batch)
                losses = torch.stack([nll[k] + self._margin(memory, deltas[k], own[k], others[k]) for k in range(n)])
                values = losses.detach().tolist()
                for k in active:
                    if values[k] <= hp.stop_loss and abs(last[k] - values[k]) <= hp.stop_change:
                        done[k], steps[k] = True, step
                    last[k] = values[k]
                active = [k for k in active if not done[k]]
                if not active:
                    break
                grads = torch.autograd.grad(losses[active].sum(), [deltas[k] for k in active])
                with torch.no_grad():
                    for k, g in zip(active, grads):
                        deltas[k] -= hp.lr * (g + hp.weight_decay * deltas[k]) * mask
                        if hp.norm_constraint is not None:
                            deltas[k].clamp_(-hp.norm_constraint, hp.norm_constraint)
        finally:
            for p, flag in flags.items():
                p.requires_grad_(flag)
            for j, d in zip(slots, deltas):
                memory.deltas[j] = d.detach()
        with torch.no_grad():
            acts = [float(self._score(memory, memory.deltas[j], *own[k])) for k, j in enumerate(slots)]
        return steps, acts

    @staticmethod
    def _score(memory: SideMemory, delta, a, main) -> torch.Tensor:
        extra = a.to(delta.dtype) @ (delta if memory.conv1d else delta.T)
        return memory.scores(main[None].float(), extra[None], None)[0]

    def _margin(self, memory, delta, own, others) -> torch.Tensor:
        """WISE's margin terms: the edit's score above beta, the unrelated ones below alpha, and
        the edit above each unrelated one by gamma."""
        hp = self.hparams
        inside = self._score(memory, delta, *own)
        outside = torch.stack([self._score(memory, delta, *o) for o in others])
        return (positive_mean(outside - inside + hp.gamma) + positive_mean(outside - hp.alpha)
                + positive_mean(hp.beta - inside[None]))


@torch.no_grad()
def routing_trace(edited: EditedModel, tokenizer, prompt: str, max_new_tokens: int = 8) -> dict:
    """What WISE's router does while ``edited`` (a WISE EditedModel of ``apply``) answers
    ``prompt`` greedily with the KV cache: ``generated`` (the text) and ``calls``, one per
    forward pass (the whole prompt, then each generated token fed back) with what it read, its
    activation score, the threshold, and whether the side memory answered."""
    new, _, trace = traced_continue(edited, tokenizer, prompt, max_new_tokens)
    memory = edited.module.hook
    threshold = min(memory.min_acts) * memory.act_ratio
    read = [prompt] + [tokenizer.decode([tok]) for tok in new[:-1]]
    return {"generated": tokenizer.decode(new, skip_special_tokens=True), "threshold": threshold,
            "calls": [{"read": text, "score": score, "side": chosen >= 0} for text, (_, score, chosen) in zip(read, trace)]}


def format_routing(trace: dict) -> str:
    """:func:`routing_trace` as lines: the generated text, then each forward pass's input with its
    activation score against the threshold, and which memory answered."""
    lines = [f"generated {trace['generated']!r}; threshold {trace['threshold']:.2f}",
             f"{'forward pass reads':>32}  {'score':>7}  memory"]
    for call in trace["calls"]:
        lines.append(f"{call['read'][-32:]!r:>32}  {call['score']:7.2f}  {'side' if call['side'] else 'main'}")
    return "\n".join(lines)
