"""A base model with a hook on one module that must know, per call, where each row's prompt
ends and which columns are padding (GRACE's codebook lookup, WISE's side-memory routing)."""
from __future__ import annotations

import hashlib

import torch

from ...losses import IGNORE_INDEX
from ...tokenization import encode, left_pad, pad_id
from ..ft import layer_index, weight_name


def request_seed(*parts: str) -> int:
    """A seed from an edit's text (the same draw whether the edit is made alone or side by side)."""
    return int(hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12], 16)


def hooked_layer(model, hp) -> int:
    """The block whose MLP output projection the hook wraps: ``hp.layer``, or ``hp.depth`` of the way up."""
    return layer_index(model, round(hp.depth * (model.config.num_hidden_layers - 1)) if hp.layer is None else hp.layer)


def hooked_projection(model, hp):
    """That block's MLP output projection (the module, not its weight)."""
    return model.get_submodule(weight_name(model, hooked_layer(model, hp)).removesuffix(".weight"))


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


@torch.no_grad()
def traced_continue(edited, tokenizer, prompt: str, max_new_tokens: int) -> tuple[list[int], int, list]:
    """``edited`` (a HookedModel's EditedModel) answering ``prompt`` greedily with the KV cache,
    its hook recording one entry per decision in ``hook.trace``: (new token ids, the prompt's
    last token id, the trace)."""
    from ...decoding import greedy_continue

    hook = edited.module.hook
    batch = left_pad([encode(tokenizer, prompt)], pad_id(tokenizer))
    hook.trace = []
    try:
        new = greedy_continue(edited, batch["input_ids"], batch["attention_mask"], max_new_tokens=max_new_tokens)[0]
        return new, int(batch["input_ids"][0, -1]), hook.trace
    finally:
        hook.trace = None
