"""Per-row weight deltas: K separate edits of one weight, applied in one batched forward pass.

Every weight editor (FT's trained MLP weight, ROME's rank-one update, MEMIT's per-layer
updates) changes a weight W by a delta.  For K independent single edits, :class:`RowDeltas`
keeps K deltas and adds, for row b of a batch, ``x_b @ delta[edit_of_row_b]`` to the output
of W's module, so that row b sees W + delta_k.  The base weight itself never changes.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .base import RowEdits


def is_transposed(module) -> bool:
    """GPT-2's Conv1D stores its weight as (in, out) and computes x @ W; nn.Linear computes x @ W.T."""
    return not isinstance(module, torch.nn.Linear)


def in_weight_layout(module, delta: torch.Tensor) -> torch.Tensor:
    """A (d_out, d_in) ΔW as ``module`` stores its weight, in its dtype (GPT-2's Conv1D stores Wᵀ)."""
    delta = delta.to(module.weight.dtype)
    return delta.T if is_transposed(module) else delta


class RowDeltas:
    """K deltas of one module's weight, added per row through a forward hook.

    ``deltas`` is a tensor of shape (K, *weight.shape), or a list of K tensors of the weight's
    shape (how an editor trains them: one leaf per edit, so that an edit without a gradient
    is left alone by the optimizer).  Rows are mapped to deltas by ``row_edits``; the hook
    multiplies each edit's rows by that edit's delta, reading the delta where it lies (no
    per-row copy of a weight-sized matrix: on a CPU a fresh 50 MB buffer costs more in page
    faults than the matmul).  Works on a model dispatched by accelerate: the deltas follow
    the activations' device.
    """

    def __init__(self, module, row_edits: RowEdits, deltas):
        self.module, self.row_edits, self.deltas = module, row_edits, deltas
        self.transposed = is_transposed(module)
        self.handle = module.register_forward_hook(self._hook)

    @staticmethod
    def zeros(module, dtype=torch.float32) -> torch.Tensor:
        """A zero delta of ``module``'s weight (on its device; on the CPU if accelerate keeps it on meta)."""
        weight = module.weight
        device = weight.device if weight.device.type != "meta" else torch.device("cpu")
        return torch.zeros(weight.shape, dtype=dtype, device=device)

    def _hook(self, module, args, output):
        x = args[0]
        ids = self.row_edits.current(x.shape[0]).tolist()
        flat = x.reshape(x.shape[0], -1, x.shape[-1])
        order, parts = [], []
        for k in dict.fromkeys(ids):
            rows = [i for i, e in enumerate(ids) if e == k]
            delta = self.deltas[k].to(device=x.device, dtype=x.dtype)
            parts.append(flat[rows] @ (delta if self.transposed else delta.T))
            order += rows
        change = torch.cat(parts) if len(parts) > 1 else parts[0]
        if order != sorted(order):
            change = change[torch.tensor(order).argsort().to(change.device)]
        return output + change.reshape(*output.shape)

    def weight(self, k: int) -> torch.Tensor:
        """The weight edit ``k`` makes (base weight + its delta)."""
        return self.module.weight.detach() + self.deltas[k].detach().to(self.module.weight.device)

    @contextmanager
    def suspended(self):
        """The module without these deltas for the calls inside (an editor training on top of them
        holds them in its own hook meanwhile)."""
        self.handle.remove()
        try:
            yield
        finally:
            self.handle = self.module.register_forward_hook(self._hook)

    def remove(self) -> None:
        self.handle.remove()
        self.deltas = None
