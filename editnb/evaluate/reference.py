"""A plain reference: the same metrics computed one example at a time, for tests and benchmarks.

Kept small and obviously correct: one unpadded row per forward pass, one ``generate`` call
per probe generating all ``max_new_tokens`` (optionally without the KV cache, as EasyEdit
does), then the same truncation at EOS and stop strings.
"""
from __future__ import annotations

import torch

from ..tokenization import PromptTarget
from .core import evaluate, pre_edit
from .generation import Generation, eos_ids, finish
from .rows import rows_context
from .teacher_forced import TeacherForced, score_rows


class ReferenceScorer:
    def __init__(self, use_cache: bool = True):
        self.use_cache = use_cache

    @torch.no_grad()
    def teacher_forced(self, model, tokenizer, pairs: list[PromptTarget], edit_ids=None) -> list[TeacherForced]:
        results = []
        for i, pair in enumerate(pairs):
            ids, labels = torch.tensor([pair.ids]), torch.tensor([pair.labels])
            with rows_context(model, edit_ids, [i]):
                logits = model(input_ids=ids, labels=labels).logits
            results += score_rows(logits, labels)
        return results

    @torch.no_grad()
    def generate(self, model, tokenizer, sequences, *, max_new_tokens, stop_strings, edit_ids=None) -> list[Generation]:
        eos = eos_ids(model, tokenizer)
        results = []
        for i, seq in enumerate(sequences):
            ids = torch.tensor([seq])
            with rows_context(model, edit_ids, [i]):
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                     do_sample=False, num_beams=1, use_cache=self.use_cache, temperature=None, top_p=None,
                                     top_k=None, pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
            results.append(finish(tokenizer, out[0, len(seq):].tolist(), eos))
        return results


def evaluate_reference(model, tokenizer, requests, *, use_cache: bool = True, **kwargs) -> list[dict]:
    """:func:`editnb.evaluate.evaluate` with every probe scored one at a time."""
    return evaluate(model, tokenizer, requests, scorer=ReferenceScorer(use_cache), **kwargs)


def pre_edit_reference(model, tokenizer, requests, config=None, *, use_cache: bool = True):
    return pre_edit(model, tokenizer, requests, config, scorer=ReferenceScorer(use_cache))
