"""ROME (Meng et al., 2022): a rank-one update of one MLP output projection, with r-ROME's fix.

The MLP output projection W of block L maps a key k (its input at the subject's last token)
to a value.  ROME picks

* k*: the key of the edit's subject, averaged over the prompt preceded by short context
  prefixes the model writes itself (seeded, cached on disk per model);
* v*: a value that makes the model say the new target, found by optimising a vector added to
  W's output at the subject's last token (target NLL, a KL term on "{subject} is a" that
  keeps the subject's other properties, a weight decay, and a norm clamp);

and adds the rank-one ΔW = (v* - W k*) (C⁻¹k*)ᵀ / (k*ᵀ C⁻¹ k*), where C = E[k kᵀ] over real
text (:mod:`editnb.editors.covariance`).  Then W'k* = v* exactly, and keys k with
kᵀC⁻¹k* = 0 are mapped as before.  The same k* appears in the numerator and the denominator:
original ROME used a key of the bare prompt in one place and the averaged one in the other,
which lets ΔW blow up for some edits (the collapse r-ROME fixed).

Subject positions come from the tokenizer's character offsets, never from tokenizing the
prefix and the subject separately (a BPE merge with the preceding space shifts those).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...progress import progress
from .. import register
from ..base import EditedModel, Editor, RowEdits, unwrap, weight_edit_target
from ..deltas import RowDeltas, in_weight_layout
from ..ft import layer_index
from ..hparams import HyperParams
from .covariance import mlp_out_module, second_moment
from .keys import at_subjects, prefixes_for, subject_key
from .values import cached_values


@dataclass(frozen=True)
class ROMEHParams(HyperParams):
    """ROME's settings (ROME's GPT-J values for the v* optimisation; the layer is SmolLM2's).

    layer: the block whose MLP output projection is edited (None: a third of the way up);
    context_lengths, contexts_per_length, context_seed: the self-written prefixes k* and v* average over;
    v_steps, v_lr: Adam on v*'s delta; kl_factor: weight of the KL on "{subject} is a";
    v_weight_decay: ``v_weight_decay * |delta| / |v_init|^2``; clamp_norm_factor: |delta| <=
    factor * |v_init|; stop_nll: v* optimisation stops once the mean target NLL is below it;
    stats_tokens, stats_corpus: the text C is computed on.
    """

    layer: int | None = None
    context_lengths: tuple[int, ...] = (5, 10)
    contexts_per_length: int = 5
    context_seed: int = 0
    v_steps: int = 25
    v_lr: float = 0.5
    kl_factor: float = 0.0625
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    stop_nll: float = 0.05
    stats_tokens: int = 100_000
    stats_corpus: str = "wiki"


def rome_layer(model, layer: int | None) -> int:
    return layer_index(model, model.config.num_hidden_layers // 3 if layer is None else layer)


# ---------------------------------------------------------------- the update

def weight_of(module) -> torch.Tensor:
    """The (d_out, d_in) matrix ``module`` applies: a Linear's weight, a GPT-2 Conv1D's transpose."""
    return module.weight if isinstance(module, torch.nn.Linear) else module.weight.T


def rank_one_update(module, C: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(left, right) with ΔW = right leftᵀ mapping k to v: left = C⁻¹k / (kᵀC⁻¹k) (solved in
    float64), right = v - module(k) (the module's bias, if any, included)."""
    k64 = k.double()
    c_inv_k = torch.linalg.solve(C.double(), k64)
    left = c_inv_k / (k64 @ c_inv_k)
    with torch.no_grad():
        right = v.double() - module(k[None].to(module.weight.dtype))[0].double()
    return left, right


@torch.no_grad()
def key_value_check(module, C: torch.Tensor, k: torch.Tensor, v: torch.Tensor, original: torch.Tensor) -> dict:
    """For an edited ``module`` whose weight was ``original``: |W'k - v| / |v|, and how far a key
    C⁻¹-orthogonal to k moves (|W'o - W o| / |W o|)."""
    c_inv_k = torch.linalg.solve(C.double(), k.double())
    other = torch.randn(k.shape[0], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    other -= (other @ c_inv_k) / (k.double() @ c_inv_k) * k.double()  # now otherᵀ C⁻¹ k = 0
    W_new = weight_of(module).double()
    W_old = (original if isinstance(module, torch.nn.Linear) else original.T).double()
    mapped = module(k[None].to(module.weight.dtype))[0].double()  # with the module's bias, if any
    return {"maps_key": float(torch.linalg.norm(mapped - v.double()) / torch.linalg.norm(v.double())),
            "orthogonal_moves": float(torch.linalg.norm((W_new - W_old) @ other) / torch.linalg.norm(W_old @ other))}


def rank_one_delta(module, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """ΔW = right leftᵀ in the module's weight layout and dtype (GPT-2's Conv1D stores Wᵀ)."""
    return in_weight_layout(module, torch.outer(right, left))


@torch.no_grad()
def add_rank_one(module, left: torch.Tensor, right: torch.Tensor) -> None:
    """W += right leftᵀ."""
    module.weight.add_(rank_one_delta(module, left, right).to(module.weight.device))


@register
class ROME(Editor):
    """Rank-one model editing; a batch of requests is applied one edit after another."""

    name = "ROME"
    HParams = ROMEHParams

    def _setup(self, model, tokenizer):
        """The edited module's name and the module, C, and the context prefixes."""
        hp = self.hparams
        layer = rome_layer(model, hp.layer)
        module_name = mlp_out_module(model, layer)
        prefixes = prefixes_for(model, tokenizer, hp)
        return layer, module_name, model.get_submodule(module_name), self.statistics(model, tokenizer), prefixes

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        base, prior = unwrap(model)
        # C and the prefixes are the unedited model's, kept in the EditedModel for later applies
        setup = prior.setup if prior is not None and hasattr(prior, "setup") else self._setup(base, tokenizer)
        layer, module_name, module, stats, prefixes = setup
        edited = weight_edit_target(self, base, prior, [module_name + ".weight"])
        if prior is None:
            edited.updates, edited.setup = [], setup
        for request in progress(list(requests), desc=f"{self.name} edits", disable=len(requests) < 2 or None):
            k = subject_key(base, tokenizer, module_name, request, prefixes)
            found = cached_values(base, tokenizer, module_name, layer, [request], prefixes, self.hparams)[0]
            left, right = rank_one_update(module, stats, k, found.value)
            add_rank_one(module, left, right)
            edited.updates.append({"id": request.id, "key": k, "value": found.value, "steps": found.steps, "nll": found.nll})
        edited.requests += list(requests)
        return edited

    def apply_each(self, model, tokenizer, requests, *, group: int = 16) -> EditedModel:
        """Every request as its own rank-one edit of the unedited model (see ``Editor.apply_each``):
        keys in batches, values optimised ``group`` at a time side by side, one delta per edit."""
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        requests = list(requests)
        layer, module_name, module, stats, prefixes = self._setup(base, tokenizer)
        keys = at_subjects(base, tokenizer, module_name, requests, prefixes) if requests else None
        deltas, updates = [], []
        for start in progress(range(0, len(requests), group), desc=f"{self.name} edit groups",
                              disable=len(requests) <= group or None):
            chunk = requests[start:start + group]
            for i, found in enumerate(cached_values(base, tokenizer, module_name, layer, chunk, prefixes, self.hparams)):
                k = keys[start + i]
                left, right = rank_one_update(module, stats, k, found.value)
                deltas.append(rank_one_delta(module, left, right))
                updates.append({"id": chunk[i].id, "key": k, "value": found.value, "steps": found.steps, "nll": found.nll})
        row_edits = RowEdits()
        hook = RowDeltas(module, row_edits, torch.stack(deltas) if deltas else RowDeltas.zeros(module)[None][:0])
        edited = EditedModel(base, base, self, hook.remove, requests, row_edits=row_edits)
        edited.deltas, edited.updates = hook, updates
        edited.steps = [u["steps"] for u in updates]
        return edited

    def statistics(self, model, tokenizer) -> torch.Tensor:
        """C for the edited layer (computed once per model, then read from the cache)."""
        hp = self.hparams
        return second_moment(model, tokenizer, rome_layer(model, hp.layer), corpus=hp.stats_corpus,
                             n_tokens=hp.stats_tokens).moment
