"""Greedy generation: batched with left padding and the KV cache, stopped per row at stop strings."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from ..progress import progress
from ..tokenization import left_pad, pad_id


@dataclass(frozen=True)
class Generation:
    """A greedy continuation: its text (stop string excluded) and the token ids that made it."""

    text: str
    token_ids: tuple[int, ...]


def find_stop(text: str, stop_strings) -> int | None:
    """Index of the first stop string after the first visible character, or None."""
    if not stop_strings:
        return None
    start = len(text) - len(text.lstrip())
    hits = [i for s in stop_strings if (i := text.find(s, start + 1 if start < len(text) else start)) >= 0]
    return min(hits) if hits else None


def eos_ids(model, tokenizer) -> set[int]:
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = set(ids if isinstance(ids, (list, tuple)) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def finish(tokenizer, new_ids: list[int], eos: set[int], stop_strings) -> Generation:
    """Cut a raw continuation at EOS, then at the first stop string (text and tokens alike)."""
    for i, tok in enumerate(new_ids):
        if tok in eos:
            new_ids = new_ids[:i]
            break
    text = tokenizer.decode(new_ids, skip_special_tokens=True)
    stop = find_stop(text, stop_strings)
    if stop is None:
        return Generation(text, tuple(new_ids))
    keep = next(k for k in range(1, len(new_ids) + 1) if len(tokenizer.decode(new_ids[:k], skip_special_tokens=True)) > stop)
    return Generation(text[:stop], tuple(new_ids[:keep]))


class StopStrings(StoppingCriteria):
    """Marks a row done once its continuation holds a stop string (HF pads it from then on)."""

    def __init__(self, tokenizer, start: int, stop_strings):
        self.tokenizer, self.start, self.stop_strings = tokenizer, start, stop_strings

    def __call__(self, input_ids, scores, **kwargs):
        texts = self.tokenizer.batch_decode(input_ids[:, self.start:], skip_special_tokens=True)
        return torch.tensor([find_stop(t, self.stop_strings) is not None for t in texts], device=input_ids.device)


@torch.no_grad()
def greedy_generate(model, tokenizer, sequences: list[list[int]], *, max_new_tokens: int, stop_strings=(),
                    batch_size: int = 16, use_cache: bool = True, desc: str = "generate", disable=None) -> list[Generation]:
    """Greedy continuations of already-tokenized prompts, in length-sorted left-padded batches."""
    eos = eos_ids(model, tokenizer)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    out: list[Generation | None] = [None] * len(sequences)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for idx in progress(batches, desc=desc, disable=disable):
        batch = left_pad([sequences[i] for i in idx], pad_id(tokenizer))
        width = batch["input_ids"].shape[1]
        criteria = StoppingCriteriaList([StopStrings(tokenizer, width, stop_strings)]) if stop_strings else None
        generated = model.generate(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=max_new_tokens,
            do_sample=False, num_beams=1, use_cache=use_cache, pad_token_id=pad_id(tokenizer),
            stopping_criteria=criteria, temperature=None, top_p=None, top_k=None,
        )
        for row, i in enumerate(idx):
            out[i] = finish(tokenizer, generated[row, width:].tolist(), eos, stop_strings)
    return out
