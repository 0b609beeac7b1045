"""A base model with a hook on one module that must know, per call, where each row's prompt
ends and which columns are padding (GRACE's codebook lookup, WISE's side-memory routing)."""
from __future__ import annotations

import torch

from ...losses import IGNORE_INDEX


def prompt_ends(labels: torch.Tensor) -> torch.Tensor:
    """Each row's last prompt column in a left-padded teacher-forced batch (the column before its
    first counted label; the last column for a row without one)."""
    counted = labels != IGNORE_INDEX
    first = torch.where(counted.any(1), counted.int().argmax(1), torch.full_like(labels[:, 0], labels.shape[1]))
    return (first - 1).clamp(min=0)


class HookedModel(torch.nn.Module):
    """The base model with ``hook`` (an object with a ``call(starts, mask)`` context) on one of
    its modules; behaves as a causal LM for :func:`editnb.evaluate.evaluate` (labels tell it
    where a teacher-forced prompt ends)."""

    routes_on_labels = True

    def __init__(self, base, hook):
        super().__init__()
        self.base, self.hook = base, hook
        self.config, self.generation_config = base.config, base.generation_config

    @property
    def device(self):
        return self.base.device

    def forward(self, input_ids=None, attention_mask=None, labels=None, **kwargs):
        starts = prompt_ends(labels) if labels is not None else None
        with self.hook.call(starts, attention_mask):
            return self.base(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    def generate(self, *args, **kwargs):
        with self.hook.call(None, kwargs.get("attention_mask")):
            return self.base.generate(*args, **kwargs)
