"""Rows read after a context of their own: the shape of every editor that edits by what the
model reads (SERAC's counterfactual model reads the edit first, IKE the demonstrations and the
new fact).  A row's ids follow its context's ids (the row's own BOS dropped when the context
starts with one); scores are read at the row's positions only."""
from __future__ import annotations

import torch

from ...decoding import cache_argument, greedy_continue
from ...tokenization import left_pad, pad_id


def unpadded(input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> list[list[int]]:
    """Each row's ids without its padding."""
    mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
    return [ids[m.bool()].tolist() for ids, m in zip(input_ids, mask)]


def strip_bos(tokenizer, ids: list[int]) -> list[int]:
    bos = tokenizer.bos_token_id
    return ids[1:] if bos is not None and ids and ids[0] == bos and getattr(tokenizer, "add_bos_token", True) else ids


def after_context(tokenizer, context: list[int], row: list[int]) -> list[int]:
    """``row`` read after ``context`` (one BOS, the context's)."""
    return context + (strip_bos(tokenizer, row) if context and context[0] == tokenizer.bos_token_id else row)


def logits_after(model, tokenizer, sequences: list[list[int]], row_lengths: list[int], width: int) -> torch.Tensor:
    """Logits of the last ``width`` positions of each row, for rows read as ``sequences`` (context
    and row); a row shorter than ``width`` is left-padded with zeros, as in its batch."""
    out = model(**left_pad(sequences, pad_id(tokenizer)), logits_to_keep=width).logits
    logits = out.new_zeros((len(sequences), width, out.shape[-1]))
    for k, n in enumerate(row_lengths):
        n = min(n, width)
        logits[k, width - n:] = out[k, out.shape[1] - n:]
    return logits


def continue_after(model, tokenizer, sequences: list[list[int]], **kwargs) -> list[list[int]]:
    """:func:`editnb.decoding.greedy_continue` of rows read as ``sequences``."""
    batch = left_pad(sequences, pad_id(tokenizer))
    return greedy_continue(model, batch["input_ids"], batch["attention_mask"], **kwargs)


class SharedContexts:
    """Contexts whose keys and values are computed once each and shared by every row read after
    them (all the probes of an IKE edit read the same demonstrations and fact): a row then costs
    its own tokens only.  Without per-layer caches (older transformers) rows are read with their
    whole context, as :func:`logits_after` does."""

    def __init__(self, model, tokenizer, contexts: list[list[int]]):
        from transformers import DynamicCache

        self.model, self.tokenizer, self.contexts = model, tokenizer, contexts
        self.kv: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.supported = hasattr(DynamicCache(), "layers")

    def _kv(self, c: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if c not in self.kv:
            from transformers import DynamicCache

            cache = DynamicCache()
            with torch.no_grad():
                self.model(input_ids=torch.tensor([self.contexts[c]]), use_cache=True, logits_to_keep=1,
                           **{cache_argument(self.model): cache})
            self.kv[c] = [(layer.keys, layer.values) for layer in cache.layers]
        return self.kv[c]

    def past(self, contexts: list[int]):
        """(cache, mask) of the contexts ``contexts[b]`` of rows b, left-padded to the longest."""
        from transformers import DynamicCache

        lengths = [len(self.contexts[c]) for c in contexts]
        width = max(lengths)
        layers = []
        for layer in range(len(self._kv(contexts[0]))):
            k0, v0 = self._kv(contexts[0])[layer]
            keys = k0.new_zeros((len(contexts), k0.shape[1], width, k0.shape[3]))
            values = v0.new_zeros((len(contexts), v0.shape[1], width, v0.shape[3]))
            for b, (c, n) in enumerate(zip(contexts, lengths)):
                k, v = self._kv(c)[layer]
                keys[b, :, width - n:], values[b, :, width - n:] = k[0], v[0]
            layers.append((keys, values))
        mask = torch.zeros((len(contexts), width), dtype=torch.long)
        for b, n in enumerate(lengths):
            mask[b, width - n:] = 1
        return DynamicCache(ddp_cache_data=layers), mask

    def _rows(self, rows, contexts):
        bos = self.tokenizer.bos_token_id
        return [strip_bos(self.tokenizer, r) if self.contexts[c] and self.contexts[c][0] == bos else r
                for r, c in zip(rows, contexts)]

    def logits(self, rows: list[list[int]], contexts: list[int], width: int) -> torch.Tensor:
        """Logits of the last ``width`` positions of each row, read after its context."""
        if not self.supported:
            seqs = [after_context(self.tokenizer, self.contexts[c], r) for r, c in zip(rows, contexts)]
            return logits_after(self.model, self.tokenizer, seqs, [len(r) for r in rows], width)
        own = self._rows(rows, contexts)
        cache, before = self.past(contexts)
        batch = left_pad(own, pad_id(self.tokenizer))
        keep = min(width, batch["input_ids"].shape[1])
        out = self.model(input_ids=batch["input_ids"], attention_mask=torch.cat([before, batch["attention_mask"]], 1),
                         position_ids=batch["position_ids"] + before.sum(1, keepdim=True), use_cache=True,
                         logits_to_keep=keep, **{cache_argument(self.model): cache}).logits
        logits = out.new_zeros((len(rows), width, out.shape[-1]))
        for b, r in enumerate(own):
            n = min(len(r), keep)
            logits[b, width - n:] = out[b, keep - n:]
        return logits

    def continuations(self, rows: list[list[int]], contexts: list[int], **kwargs) -> list[list[int]]:
        """Greedy continuations of the rows, each after its context."""
        if not self.supported:
            return continue_after(self.model, self.tokenizer, [after_context(self.tokenizer, self.contexts[c], r)
                                                                for r, c in zip(rows, contexts)], **kwargs)
        batch = left_pad(self._rows(rows, contexts), pad_id(self.tokenizer))
        return greedy_continue(self.model, batch["input_ids"], batch["attention_mask"], past=self.past(contexts), **kwargs)
