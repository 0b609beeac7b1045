"""Fine-tuning editors on one MLP weight: FT-L (ROME's constrained baseline) and FT-M (EasyEdit's masked FT)."""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch

from ..losses import IGNORE_INDEX, per_example_log_probs
from ..progress import progress
from ..scoring import forward_logits
from ..tokenization import encode, encode_prompt_target, left_pad, pad_id, teacher_forced_batch
from .base import EditedModel, Editor, RowEdits, unwrap, weight_edit_target
from .deltas import RowDeltas
from .hparams import HyperParams
from .suffix import Suffix, supported as suffix_supported

# The MLP output projection of each architecture: the weight FT edits (as ROME's and EasyEdit's FT do).
MLP_OUT = {
    "llama": "model.layers.{}.mlp.down_proj",
    "qwen2": "model.layers.{}.mlp.down_proj",
    "mistral": "model.layers.{}.mlp.down_proj",
    "gpt2": "transformer.h.{}.mlp.c_proj",
}


@dataclass(frozen=True)
class FTHParams(HyperParams):
    """Hyperparameters of FT-L (and, with :class:`FTMHParams`' defaults, FT-M), for SmolLM2-135M.

    FT-L's defaults come from the dev sweep in ``results/dev_sweeps.md`` (32 dev requests, best
    mean of the generation columns): lr 5e-3 and an L-inf radius of 5e-3.  EasyEdit's Llama-7B
    setting (both 5e-4) fails nearly every edit on SmolLM2; it stays available as the editor
    ``FT-L-7B`` (:class:`FTL7BHParams`) so that tables show what tuning does.

    layer: which block's MLP output weight is trained (None: the middle block);
    steps / lr: Adam steps over the requests and its learning rate;
    norm_constraint: L-infinity radius of the change around the weights before the edit (None: free);
    batch_size: requests per optimisation step; stop_nll: stop once every target's NLL is below it.
    """

    layer: int | None = None
    steps: int = 25
    lr: float = 5e-3
    norm_constraint: float | None = 5e-3
    batch_size: int = 8
    stop_nll: float = 0.05


def layer_index(model, layer: int | None) -> int:
    """The block ``layer`` names (negative counts from the end; None: the middle one)."""
    n_layers = model.config.num_hidden_layers
    layer = n_layers // 2 if layer is None else layer
    if not -n_layers <= layer < n_layers:
        raise ValueError(f"layer {layer} out of range for a model with {n_layers} layers")
    return layer % n_layers


def weight_name(model, layer: int | None) -> str:
    """Name of the MLP output weight of ``layer`` (negative counts from the end; None: the middle)."""
    template = MLP_OUT.get(model.config.model_type)
    if template is None:
        raise ValueError(f"FT does not know where the MLP of a '{model.config.model_type}' model is; known: {sorted(MLP_OUT)}")
    return template.format(layer_index(model, layer)) + ".weight"


class TargetNLL:
    """FT-M's objective: the NLL of target_new given its prompt, teacher-forced, per request."""

    @staticmethod
    def batch(tokenizer, requests) -> dict:
        return teacher_forced_batch(tokenizer, [encode_prompt_target(tokenizer, r.prompt, r.target_new) for r in requests])

    @staticmethod
    def keep(batch) -> int:
        """Positions whose logits the loss reads: from the one before the earliest target token."""
        labels = batch["labels"]
        first = int((labels != IGNORE_INDEX).int().argmax(-1).min())
        return labels.shape[1] - first + 1

    @staticmethod
    def losses(logits, batch) -> torch.Tensor:
        labels = batch["labels"][:, -logits.shape[1]:]
        return per_example_log_probs(logits, labels)["nll"]


class PromptLastNLL:
    """ROME's FT objective: every target token scored at the *last prompt position*.

    This is FT-L as ROME and EasyEdit run it (``objective_optimization: prompt_last``):
    the model is asked to put all the target's tokens right after the prompt at once.
    """

    @staticmethod
    def batch(tokenizer, requests) -> dict:
        batch = left_pad([encode(tokenizer, r.prompt) for r in requests], pad_id(tokenizer))
        targets = [list(encode_prompt_target(tokenizer, r.prompt, r.target_new).target_ids) for r in requests]
        ids = torch.full((len(targets), max(len(t) for t in targets)), IGNORE_INDEX)
        for i, t in enumerate(targets):
            ids[i, :len(t)] = torch.tensor(t)
        return batch | {"targets": ids}

    @staticmethod
    def keep(batch) -> int:
        return 1

    @staticmethod
    def losses(logits, batch) -> torch.Tensor:
        log_probs = logits[:, -1].float().log_softmax(-1)
        ids = batch["targets"]
        mask = ids != IGNORE_INDEX
        picked = log_probs.gather(-1, ids.clamp(min=0)) * mask
        return -(picked.sum(-1) / mask.sum(-1))


def _full_forward(objective, model, tokenizer, requests) -> torch.Tensor:
    batch = objective.batch(tokenizer, requests)
    logits = forward_logits(model, {k: v for k, v in batch.items() if k != "labels"})
    return objective.losses(logits[:, -objective.keep(batch):], batch)


def target_nll(model, tokenizer, requests) -> torch.Tensor:
    """Per-request NLL of target_new given its prompt, teacher-forced (FT-M's objective), on the whole model."""
    return _full_forward(TargetNLL, model, tokenizer, requests)


def prompt_last_nll(model, tokenizer, requests) -> torch.Tensor:
    """Per-request FT-L objective (:class:`PromptLastNLL`) on the whole model."""
    return _full_forward(PromptLastNLL, model, tokenizer, requests)


class Examples:
    """Requests encoded once for training, with their inputs to the trained block cached
    (:class:`Suffix`): a step runs only the blocks from the edited one up and the LM head
    where the loss reads it.  Architectures Suffix does not know run the whole model."""

    def __init__(self, objective, model, tokenizer, requests, layer: int, batch_size: int):
        self.objective, self.model, self.tokenizer, self.requests = objective, model, tokenizer, list(requests)
        self.suffix = Suffix(model, layer) if suffix_supported(model) else None
        self.states = []
        if self.suffix is not None:
            for i in range(0, len(self.requests), batch_size):
                self.states += self.suffix.states(objective.batch(tokenizer, self.requests[i:i + batch_size]))

    def losses(self, ids: list[int]) -> torch.Tensor:
        """The objective of requests ``ids`` (indices), one value each."""
        if self.suffix is None:
            return _full_forward(self.objective, self.model, self.tokenizer, [self.requests[k] for k in ids])
        batch = self.objective.batch(self.tokenizer, [self.requests[k] for k in ids])
        logits = self.suffix.logits([self.states[k] for k in ids], batch, self.objective.keep(batch))
        return self.objective.losses(logits, batch)


class FineTune(Editor):
    """Shared loop: train one weight on the target tokens, optionally clamped to an L-inf ball."""

    HParams = FTHParams
    objective = TargetNLL

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        base, prior = unwrap(model)
        name = weight_name(base, self.hparams.layer)
        edited = weight_edit_target(self, base, prior, [name])
        groups = [[r] for r in requests] if sequential else [list(requests)]
        steps = getattr(edited, "steps", [])
        for group in progress(groups, desc=f"{self.name} edits", disable=len(groups) < 2 or None):
            steps.append(self._train(base, tokenizer, group, edited.snapshot.params[name]))
        edited.steps = steps  # Adam steps each apply (or each sequential edit) took before stopping
        edited.requests += list(requests)
        return edited

    def _train(self, model, tokenizer, requests, weight) -> int:
        hp = self.hparams
        start = weight.detach().clone()
        optimizer = torch.optim.Adam([weight], lr=hp.lr, fused=True)
        with _training(model, weight):
            examples = Examples(self.objective, model, tokenizer, requests, layer_index(model, hp.layer), hp.batch_size)
            for step in range(hp.steps):
                worst = 0.0
                for i in range(0, len(requests), hp.batch_size):
                    losses = examples.losses(list(range(i, min(i + hp.batch_size, len(requests)))))
                    optimizer.zero_grad()
                    losses.mean().backward()
                    optimizer.step()
                    if hp.norm_constraint is not None:
                        with torch.no_grad():
                            weight.copy_(torch.clamp(weight, start - hp.norm_constraint, start + hp.norm_constraint))
                    worst = max(worst, losses.max().item())
                if worst < hp.stop_nll:
                    return step + 1
        return hp.steps

    def apply_each(self, model, tokenizer, requests, *, group: int = 32, batch_size: int = 16) -> EditedModel:
        """Every request as its own single edit, trained side by side (see ``Editor.apply_each``).

        Each edit has its own delta of the MLP weight; the K losses are summed, so each delta
        gets exactly its own edit's gradient, and Adam (elementwise) makes the same steps as
        K separate runs.  An edit whose loss falls below ``stop_nll`` stops where a single
        run stops: from then on its delta gets no gradient, which Adam skips (a zero gradient
        would not do: Adam's momentum would keep moving it).  ``group`` edits are trained at once (bounding the optimizer's
        memory), ``batch_size`` rows per forward pass.  ``edited.steps[k]`` is edit k's step count.
        """
        return self.apply_streams(model, tokenizer, [[r] for r in requests], group=group, batch_size=batch_size)

    def apply_streams(self, model, tokenizer, streams, *, group: int = 32, batch_size: int = 16) -> EditedModel:
        """K streams of sequential edits side by side (see ``Editor.apply_streams``): stream k's
        delta starts where its last edit left it, and its next edit is trained as a sequential
        ``apply`` trains it (a fresh Adam; FT-L's L-inf ball around the weight before that edit).
        The t-th edits of all streams train together, as ``apply_each`` trains single edits.
        ``edited.steps`` follows ``edited.requests`` (every stream's requests, stream by stream)."""
        base, prior = unwrap(model)
        streams = [list(s) for s in streams]
        if prior is not None:
            if not prior.each or type(prior.editor) is not type(self) or len(prior.slots) != len(streams):
                raise ValueError(f"continue streams on this editor's apply_streams result with as many streams "
                                 f"({len(prior.slots) if prior.each else 'none'}), or restore the model first")
            hook, module = prior.deltas, prior.deltas.module
            current, slots, steps = list(hook.deltas), prior.slots, prior.stream_steps
        else:
            module = base.get_submodule(weight_name(base, self.hparams.layer).removesuffix(".weight"))
            current = [RowDeltas.zeros(module) for _ in streams]
            slots, steps, hook = [[] for _ in streams], [[] for _ in streams], None
        with hook.suspended() if hook is not None else nullcontext():  # the streams' deltas train in their own hook
            for t in range(max((len(s) for s in streams), default=0)):
                active = [k for k, s in enumerate(streams) if t < len(s)]
                chunks = [active[i:i + group] for i in range(0, len(active), group)]
                for chunk in progress(chunks, desc=f"{self.name} edit groups", disable=len(chunks) < 2 or None):
                    trained, taken = self._train_each(base, tokenizer, [streams[k][t] for k in chunk], module, batch_size,
                                                      [current[k] for k in chunk])
                    for k, delta, n in zip(chunk, trained, taken):
                        current[k] = delta
                        slots[k].append(streams[k][t])
                        steps[k].append(n)
        if hook is None:
            row_edits = RowEdits()
            hook = RowDeltas(module, row_edits, torch.stack(current) if current else RowDeltas.zeros(module)[None][:0])
            edited = EditedModel(base, base, self, hook.remove, [], row_edits=row_edits, slots=slots)
            edited.deltas = hook
        else:
            edited = prior
            hook.deltas = torch.stack(current)
            edited.slots = slots
        edited.requests = [r for slot in slots for r in slot]
        edited.stream_steps, edited.steps = steps, [n for s in steps for n in s]
        return edited

    def _train_each(self, model, tokenizer, requests, module, batch_size, start) -> tuple[list[torch.Tensor], list[int]]:
        """Train one delta per request from its ``start`` delta, side by side; (deltas, steps)."""
        hp, n = self.hparams, len(requests)
        rows = RowEdits()
        # one leaf per edit: an edit that has stopped gets no gradient, and Adam skips a
        # parameter without one (no step, no momentum), exactly as a finished single run
        hook = RowDeltas(module, rows, [s.detach().clone() for s in start])
        deltas = hook.deltas
        optimizer = torch.optim.Adam(deltas, lr=hp.lr, fused=True)
        steps, done = [hp.steps] * n, [False] * n
        # FT-L's ball around the weight before this edit
        bounds = [(s - hp.norm_constraint, s + hp.norm_constraint) for s in start] if hp.norm_constraint is not None else None
        try:
            with _training(model, *deltas):
                examples = Examples(self.objective, model, tokenizer, requests, layer_index(model, hp.layer), batch_size)
                for step in range(hp.steps):
                    active = [k for k in range(n) if not done[k]]
                    if not active:
                        break
                    optimizer.zero_grad(set_to_none=True)
                    losses = {}
                    for i in range(0, len(active), batch_size):
                        ids = active[i:i + batch_size]
                        with rows(ids, n):
                            chunk = examples.losses(ids)
                        chunk.sum().backward()  # edit k's loss reaches only delta k
                        losses.update(zip(ids, chunk.detach().tolist()))
                    optimizer.step()
                    with torch.no_grad():
                        for k in active:
                            if bounds is not None:
                                deltas[k].clamp_(*bounds[k])
                            if losses[k] < hp.stop_nll:
                                done[k], steps[k] = True, step + 1
        finally:
            hook.remove()
        return [d.detach() for d in deltas], steps


@contextmanager
def _training(model, *trainable: torch.Tensor):
    """Only ``trainable`` gets gradients; the model runs in eval mode (no dropout: the same edit
    every run); every parameter's requires_grad and the model's mode are put back afterwards."""
    flags = {p: p.requires_grad for p in model.parameters()}
    was_training = model.training
    for p in flags:
        p.requires_grad_(False)
    for t in trainable:
        t.requires_grad_(True)
    model.eval()
    try:
        yield
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)
        for t in trainable:
            t.grad = None
        model.train(was_training)


class FTL(FineTune):
    """FT-L: ROME's constrained fine-tuning (prompt-last objective, change clamped to an L-inf ball)."""

    name = "FT-L"
    objective = PromptLastNLL


@dataclass(frozen=True)
class FTL7BHParams(FTHParams):
    """EasyEdit's FT-L setting for Llama-2-7B (``hparams/FT/llama-7b.yaml``): lr and radius 5e-4."""

    lr: float = 5e-4
    norm_constraint: float | None = 5e-4


class FTL7B(FTL):
    """FT-L with EasyEdit's 7B hyperparameters, untuned: the reference row of the dev sweep."""

    name = "FT-L-7B"
    HParams = FTL7BHParams


@dataclass(frozen=True)
class FTMHParams(FTHParams):
    """FT-M defaults: EasyEdit runs it without the norm constraint."""

    norm_constraint: float | None = None
    lr: float = 1e-3


class FTM(FineTune):
    """FT-M: masked fine-tuning, cross-entropy on the target tokens only (prompt labelled -100)."""

    name = "FT-M"
    HParams = FTMHParams
    objective = TargetNLL
