"""Greedy decoding with the KV cache, dropping each row from the batch as soon as it is done.

Hugging Face's ``generate`` keeps a finished row in the batch (padding it) until the last
row stops, and copies and processes the full-vocabulary logits at every step.  For greedy
evaluation neither is needed: :func:`greedy_continue` reads the argmax of the last position,
and removes a row from the batch and from the cache once it has emitted an end token or its
``stop`` test says it is done.  Its tokens are those of ``generate(do_sample=False)`` with the
same stopping (``tests/test_decoding.py``).
"""
from __future__ import annotations

import inspect
from typing import Callable

import torch


def prompt_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids of a left-padded batch (as ``generate`` computes them)."""
    return (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 1)


def _new_cache():
    from transformers import DynamicCache

    return DynamicCache()


def cache_argument(model) -> str:
    """The forward argument that takes the KV cache: ``cache`` (transformers 5.2x) or
    ``past_key_values``, read from the Hugging Face model inside any wrappers (an EditedModel's
    ``module``, a wrapper's ``base``)."""
    from transformers import PreTrainedModel

    for _ in range(4):
        if isinstance(model, PreTrainedModel):
            break
        model = getattr(model, "module", None) or getattr(model, "base", None) or model
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _keep_rows(cache, index: torch.Tensor) -> None:
    """Keep rows ``index`` of a KV cache (per layer in transformers 5, on the cache before)."""
    layers = getattr(cache, "layers", None)
    if layers is not None:
        for layer in layers:
            layer.reorder_cache(index)
    else:
        cache.reorder_cache(index)


@torch.no_grad()
def greedy_continue(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, *, max_new_tokens: int,
                    end_ids=(), stop: Callable[[int, list[int]], bool] | None = None,
                    on_rows: Callable[[list[int]], None] | None = None, past=None) -> list[list[int]]:
    """The greedy continuation of every row of a left-padded batch, end token excluded.

    A row stops at a token of ``end_ids`` (left out of its continuation), when
    ``stop(row, tokens_so_far)`` returns True (the last token kept), or after
    ``max_new_tokens``.  ``on_rows(rows)`` is called with the rows still running (indices into
    the batch) whenever some leave it, before the next forward pass: a model whose rows carry
    per-row state (``apply_each``) narrows it there.  ``past = (cache, mask)``: the rows
    continue text already in ``cache`` (left-padded, attention ``mask``), as from
    :class:`editnb.editors.memory.prefix.SharedContexts`.
    """
    if input_ids.shape[0] == 0:
        return []
    end_ids = set(end_ids)
    device = input_ids.device
    attention_mask = attention_mask.to(device)
    positions = prompt_positions(attention_mask)
    cache, alive = _new_cache(), list(range(input_ids.shape[0]))
    if past is not None:
        cache, before = past
        before = before.to(device)
        positions = positions + before.sum(1, keepdim=True)
        attention_mask = torch.cat([before, attention_mask], dim=1)
    cache_kwarg = {cache_argument(model): cache}  # the cache is filled in place
    new: list[list[int]] = [[] for _ in alive]
    ids = input_ids
    for _ in range(max_new_tokens):
        out = model(input_ids=ids, attention_mask=attention_mask, position_ids=positions, use_cache=True,
                    logits_to_keep=1, **cache_kwarg)
        chosen = out.logits[:, -1].argmax(-1)
        keep = []
        for k, (row, token) in enumerate(zip(alive, chosen.tolist())):
            if token in end_ids:
                continue
            new[row].append(token)
            if stop is None or not stop(row, new[row]):
                keep.append(k)
        if not keep or len(new[alive[keep[0]]]) >= max_new_tokens:
            break
        if len(keep) < len(alive):
            index = torch.tensor(keep, device=device)
            _keep_rows(cache, index)
            alive = [alive[k] for k in keep]
            chosen, attention_mask, positions = chosen[index], attention_mask[index], positions[index]
            if on_rows is not None:
                on_rows(alive)
        ids = chosen[:, None]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(alive), 1)], dim=1)
        positions = positions[:, -1:] + 1
    return new
