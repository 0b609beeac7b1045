"""Per-row weight deltas: K separate edits of one weight, applied in one batched forward pass.

Every weight editor (FT's trained MLP weight, ROME's rank-one update, MEMIT's per-layer
updates) changes a weight W by a delta.  For K independent single edits, :class:`RowDeltas`
keeps K deltas and adds, for row b of a batch, ``x_b @ delta[edit_of_row_b]`` to the output
of W's module, so that row b sees W + delta_k.  The base weight itself never changes.
"""
from __future__ import annotations

import torch

from .base import RowEdits


def _is_transposed(module) -> bool:
    """GPT-2's Conv1D stores its weight as (in, out) and computes x @ W; nn.Linear computes x @ W.T."""
    return not isinstance(module, torch.nn.Linear)


class RowDeltas:
    """K deltas of one module's weight (shape (K, *weight.shape)), added per row through a hook.

    ``deltas`` may be trained (it is a leaf tensor that can require grad).  Rows are mapped to
    deltas by ``row_edits``; the hook gathers the rows' deltas and adds one batched matmul.
    Works on a model dispatched by accelerate: the deltas follow the activations' device.
    """

    def __init__(self, module, n_edits: int, row_edits: RowEdits, *, dtype=torch.float32):
        weight = module.weight
        device = weight.device if weight.device.type != "meta" else torch.device("cpu")
        self.module, self.row_edits = module, row_edits
        self.transposed = _is_transposed(module)
        self.deltas = torch.zeros((n_edits, *weight.shape), dtype=dtype, device=device)
        self.active: torch.Tensor | None = None  # optional: only these edits' rows are computed
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        x = args[0]
        ids = self.row_edits.current(x.shape[0]).to(self.deltas.device)
        delta = self.deltas.index_select(0, ids).to(device=x.device, dtype=x.dtype)
        flat = x.reshape(x.shape[0], -1, x.shape[-1])
        change = torch.bmm(flat, delta if self.transposed else delta.transpose(1, 2))
        return output + change.reshape(*output.shape)

    def weight(self, k: int) -> torch.Tensor:
        """The weight edit ``k`` makes (base weight + its delta)."""
        return self.module.weight.detach() + self.deltas[k].detach().to(self.module.weight.device)

    def remove(self) -> None:
        self.handle.remove()
        self.deltas = None
