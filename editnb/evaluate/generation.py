"""Greedy generation for evaluation: batched, cached, stopped per row at EOS or stop strings."""
from __future__ import annotations

from dataclasses import dataclass

from functools import partial

import torch

from ..decoding import greedy_continue
from ..progress import progress
from ..tokenization import left_pad, pad_id
from .rows import rows_context


@dataclass(frozen=True)
class Generation:
    """A greedy continuation up to EOS (or the token budget): its text, its token ids, and the
    length of the text decoded from the first k+1 tokens (``ends[k]``), to cut tokens where
    a verdict cuts the text (:mod:`editnb.evaluate.verdicts`)."""

    text: str
    token_ids: tuple[int, ...]
    ends: tuple[int, ...] = ()

    def tokens_before(self, cut: int) -> tuple[int, ...]:
        """The tokens needed to spell ``text[:cut]`` (the one that crosses the cut included)."""
        keep = next((k for k, end in enumerate(self.ends) if end >= cut), len(self.token_ids) - 1) + 1
        return self.token_ids[:keep] if cut < len(self.text) else self.token_ids


def find_stop(text: str, stop_strings) -> int | None:
    """Index of the first stop string after the first visible character, or None."""
    if not stop_strings:
        return None
    start = len(text) - len(text.lstrip())
    hits = [i for s in stop_strings if (i := text.find(s, start + 1 if start < len(text) else start)) >= 0]
    return min(hits) if hits else None


def eos_ids(model, tokenizer) -> set[int]:
    """Tokens that end a continuation: the model's and tokenizer's EOS, and the pad that follows them."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = set(ids if isinstance(ids, (list, tuple)) else [ids] if ids is not None else [])
    ids.update(t for t in (tokenizer.eos_token_id, pad_id(tokenizer)) if t is not None)
    return ids


def finish(tokenizer, new_ids: list[int], eos: set[int]) -> Generation:
    """A raw continuation cut at EOS; where the answer ends is decided later, per answer."""
    for i, tok in enumerate(new_ids):
        if tok in eos:
            new_ids = new_ids[:i]
            break
    ends = tuple(len(tokenizer.decode(new_ids[:k + 1], skip_special_tokens=True)) for k in range(len(new_ids)))
    return Generation(tokenizer.decode(new_ids, skip_special_tokens=True), tuple(new_ids), ends)


class StopAfter:
    """``stop(row, new_ids)``: True once ``lookahead`` characters follow the row's first stop
    string.  The look-ahead lets the verdicts see whether that stop string was part of an
    answer ("F. Scott Fitzgerald"); it is a constant, never the target's length.  ``key``
    names the test (for caches of continuations)."""

    def __init__(self, tokenizer, stop_strings, lookahead: int = 0):
        self.tokenizer, self.stop_strings, self.lookahead = tokenizer, tuple(stop_strings), lookahead
        self.key = ("stop_after", self.stop_strings, lookahead)

    def __call__(self, row: int, new_ids: list[int]) -> bool:
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        cut = find_stop(text, self.stop_strings)
        return cut is not None and len(text) - cut > self.lookahead


@torch.no_grad()
def greedy_generate(model, tokenizer, sequences: list[list[int]], *, max_new_tokens: int, stop_strings=(),
                    stop_lookahead: int = 0, batch_size: int = 16, edit_ids=None,
                    desc: str = "generate", disable=None) -> list[Generation]:
    """Greedy continuations of already-tokenized prompts, in length-sorted left-padded batches
    decoded with the KV cache, each row leaving its batch once done (:mod:`editnb.decoding`).
    ``edit_ids``, for the result of ``apply_each``: prompt i is continued on edit ``edit_ids[i]``.
    A model that routes rows itself (SERAC) decodes through its own ``greedy_continue``."""
    eos = eos_ids(model, tokenizer)
    own = getattr(model, "greedy_continue", None)
    decode = own if own is not None else partial(greedy_continue, model)
    done = StopAfter(tokenizer, stop_strings, stop_lookahead) if stop_strings else None
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    out: list[Generation | None] = [None] * len(sequences)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for idx in progress(batches, desc=desc, disable=disable):
        batch = left_pad([sequences[i] for i in idx], pad_id(tokenizer))
        with rows_context(model, edit_ids, idx) as rows:
            new = decode(batch["input_ids"], batch["attention_mask"], max_new_tokens=max_new_tokens, end_ids=eos,
                         stop=done, on_rows=rows.keep if rows is not None else None)
        for i, ids in zip(idx, new):
            out[i] = finish(tokenizer, ids, eos)
    return out
