"""Fine-tuning editors on one MLP weight: FT-L (ROME's constrained baseline) and FT-M (EasyEdit's masked FT)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ..losses import IGNORE_INDEX, masked_log_probs
from ..progress import progress
from ..scoring import forward_logits
from ..tokenization import encode, encode_prompt_target, left_pad, pad_id, teacher_forced_batch
from .base import EditedModel, Editor, RowEdits, WeightSnapshot, unwrap
from .deltas import RowDeltas
from .hparams import HyperParams

# The MLP output projection of each architecture: the weight FT edits (as ROME's and EasyEdit's FT do).
MLP_OUT = {
    "llama": "model.layers.{}.mlp.down_proj",
    "qwen2": "model.layers.{}.mlp.down_proj",
    "mistral": "model.layers.{}.mlp.down_proj",
    "gpt2": "transformer.h.{}.mlp.c_proj",
}


@dataclass(frozen=True)
class FTHParams(HyperParams):
    """Hyperparameters of FT-L and FT-M (defaults tuned for SmolLM2-135M on a CPU).

    layer: which block's MLP output weight is trained (None: the middle block);
    steps / lr: Adam steps over the requests and its learning rate;
    norm_constraint: L-infinity radius of the change around the weights before the edit (None: free);
    batch_size: requests per optimisation step; stop_nll: stop once every target's NLL is below it.
    """

    layer: int | None = None
    steps: int = 25
    lr: float = 5e-4
    norm_constraint: float | None = 5e-4
    batch_size: int = 8
    stop_nll: float = 0.05


def weight_name(model, layer: int | None) -> str:
    """Name of the MLP output weight of ``layer`` (negative counts from the end; None: the middle)."""
    template = MLP_OUT.get(model.config.model_type)
    if template is None:
        raise ValueError(f"FT does not know where the MLP of a '{model.config.model_type}' model is; known: {sorted(MLP_OUT)}")
    n_layers = model.config.num_hidden_layers
    layer = n_layers // 2 if layer is None else layer
    if not -n_layers <= layer < n_layers:
        raise ValueError(f"layer {layer} out of range for a model with {n_layers} layers")
    return template.format(layer % n_layers) + ".weight"


def target_nll(model, tokenizer, requests) -> torch.Tensor:
    """Per-request NLL of target_new given its prompt, teacher-forced (FT-M's objective)."""
    pairs = [encode_prompt_target(tokenizer, r.prompt, r.target_new) for r in requests]
    batch = teacher_forced_batch(tokenizer, pairs)
    logits = forward_logits(model, batch)
    losses = [masked_log_probs(logits[i:i + 1], batch["labels"][i:i + 1])["nll"] for i in range(len(pairs))]
    return torch.stack(losses)


def prompt_last_nll(model, tokenizer, requests) -> torch.Tensor:
    """ROME's FT objective: every target token scored at the *last prompt position*.

    This is FT-L as ROME and EasyEdit run it (``objective_optimization: prompt_last``):
    the model is asked to put all the target's tokens right after the prompt at once.
    """
    prompts = [encode(tokenizer, r.prompt) for r in requests]
    targets = [list(encode_prompt_target(tokenizer, r.prompt, r.target_new).target_ids) for r in requests]
    batch = left_pad(prompts, pad_id(tokenizer))
    log_probs = forward_logits(model, batch)[:, -1].float().log_softmax(-1)
    width = max(len(t) for t in targets)
    ids = torch.full((len(targets), width), IGNORE_INDEX)
    for i, t in enumerate(targets):
        ids[i, :len(t)] = torch.tensor(t)
    mask = ids != IGNORE_INDEX
    picked = log_probs.gather(-1, ids.clamp(min=0)) * mask
    return -(picked.sum(-1) / mask.sum(-1))


class FineTune(Editor):
    """Shared loop: train one weight on the target tokens, optionally clamped to an L-inf ball."""

    HParams = FTHParams
    objective = staticmethod(target_nll)

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        base, prior = unwrap(model)
        name = weight_name(base, self.hparams.layer)
        if prior is not None and (type(prior.editor) is not type(self) or name not in prior.snapshot.params):
            raise ValueError(f"cannot add {self.name} edits to a model edited by {prior.editor.name}; restore it first")
        edited = prior
        if edited is None:
            snapshot = WeightSnapshot(base, [name])
            edited = EditedModel(base, base, self, snapshot.restore, [])
            edited.snapshot = snapshot
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
        optimizer = torch.optim.Adam([weight], lr=hp.lr)
        with _training(model, weight):
            for step in range(hp.steps):
                worst = 0.0
                for i in range(0, len(requests), hp.batch_size):
                    losses = self.objective(model, tokenizer, requests[i:i + hp.batch_size])
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
        run stops: after that step its delta is held fixed (Adam's momentum would otherwise
        keep moving it).  ``group`` edits are trained at once (bounding the optimizer's
        memory), ``batch_size`` rows per forward pass.  ``edited.steps[k]`` is edit k's step count.
        """
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        requests = list(requests)
        module = base.get_submodule(weight_name(base, self.hparams.layer).removesuffix(".weight"))
        trained, steps = [], []
        for start in progress(range(0, len(requests), group), desc=f"{self.name} edit groups", disable=len(requests) <= group or None):
            deltas, taken = self._train_each(base, tokenizer, requests[start:start + group], module, batch_size)
            trained.append(deltas)
            steps += taken
        row_edits = RowEdits()
        hook = RowDeltas(module, len(requests), row_edits)
        if requests:
            hook.deltas = torch.cat(trained)
        edited = EditedModel(base, base, self, hook.remove, requests, row_edits=row_edits)
        edited.deltas, edited.steps = hook, steps
        return edited

    def _train_each(self, model, tokenizer, requests, module, batch_size) -> tuple[torch.Tensor, list[int]]:
        hp, n = self.hparams, len(requests)
        rows = RowEdits()
        hook = RowDeltas(module, n, rows)
        deltas = hook.deltas.requires_grad_(True)
        optimizer = torch.optim.Adam([deltas], lr=hp.lr)
        steps, done = [hp.steps] * n, torch.zeros(n, dtype=torch.bool)
        try:
            with _training(model, deltas):
                for step in range(hp.steps):
                    active = (~done).nonzero().flatten().tolist()
                    if not active:
                        break
                    optimizer.zero_grad()
                    losses = {}
                    for i in range(0, len(active), batch_size):
                        ids = active[i:i + batch_size]
                        with rows(ids, n):
                            chunk = self.objective(model, tokenizer, [requests[k] for k in ids])
                        chunk.sum().backward()  # edit k's loss reaches only delta k
                        losses.update(zip(ids, chunk.detach().tolist()))
                    held = deltas.detach()[done].clone()
                    optimizer.step()
                    with torch.no_grad():
                        if hp.norm_constraint is not None:
                            deltas.clamp_(-hp.norm_constraint, hp.norm_constraint)
                        deltas[done] = held
                    for k in active:
                        if losses[k] < hp.stop_nll:
                            done[k], steps[k] = True, step + 1
        finally:
            hook.remove()
        return deltas.detach(), steps


@contextmanager
def _training(model, trainable: torch.Tensor):
    """Only ``trainable`` gets gradients; the model runs in eval mode (no dropout: the same edit
    every run); every parameter's requires_grad and the model's mode are put back afterwards."""
    flags = {p: p.requires_grad for p in model.parameters()}
    was_training = model.training
    for p in flags:
        p.requires_grad_(False)
    trainable.requires_grad_(True)
    model.eval()
    try:
        yield
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)
        trainable.grad = None
        model.train(was_training)


class FTL(FineTune):
    """FT-L: ROME's constrained fine-tuning (prompt-last objective, change clamped to an L-inf ball)."""

    name = "FT-L"
    objective = staticmethod(prompt_last_nll)


@dataclass(frozen=True)
class FTMHParams(FTHParams):
    """FT-M defaults: EasyEdit runs it without the norm constraint."""

    norm_constraint: float | None = None
    lr: float = 1e-3


class FTM(FineTune):
    """FT-M: masked fine-tuning, cross-entropy on the target tokens only (prompt labelled -100)."""

    name = "FT-M"
    HParams = FTMHParams
    objective = staticmethod(target_nll)
