"""IKE (Zheng et al., 2023): in-context knowledge editing.  The weights never change; the model
reads demonstrations and the new fact before every input.

Demonstrations come from the train split, three kinds per train edit (IKE's): *copy* (the fact,
then its own prompt answered with the new target), *update* (the fact, then a rephrase answered
with the new target) and *retain* (the fact, then a neighbouring prompt answered with its own,
unchanged answer).  The ``k`` demonstrations nearest to "New Fact: {fact}\\n{prompt}" under the
MiniLM sentence encoder SERAC's classifier starts from are kept, the nearest last (next to the
input).  Each line pair is::

    New Fact: The capital of France is Rome
    The capital of France is Rome

and the input follows the edit's own "New Fact:" line on a line of its own, so that its tokens
are those it has without the context.  ``k = 0`` is the simplest in-context baseline: the new
fact alone before the input.  Sequential IKE keeps every stored fact in the context, newest
last, and drops the oldest once the context would pass ``budget`` tokens (it warns, and the
EditedModel counts them in ``dropped``).
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

from ...data.answers import primary
from ...models import cache_dir
from ...results import save_atomic
from ...tokenization import encode, join_prompt_target, left_pad, pad_id
from .. import register
from ..base import EditedModel, Editor, RowEdits, unwrap, unwrap_adding
from ..hparams import HyperParams
from ..scope import ScopeClassifier, edit_text
from .prefix import SharedContexts, after_context, unpadded

FACT = "New Fact: {fact}\n"


@dataclass(frozen=True)
class IKEHParams(HyperParams):
    """IKE's settings: ``k`` demonstrations (EasyEdit uses 16; 0: the new fact alone), the
    ``budget`` of context tokens (demonstrations and facts), the sentence ``encoder`` (None:
    all-MiniLM-L6-v2 from its wheel) and the embedded ``pool`` split the demonstrations come from."""

    k: int = 16
    budget: int = 1024
    encoder: str | None = None
    pool: str = "train"


def demonstration(fact: str, prompt: str, answer: str) -> str:
    return FACT.format(fact=fact) + join_prompt_target(prompt, answer) + "\n\n"


class Demonstrations:
    """The copy, update and retain demonstrations of ``requests``, embedded once (with ``cache``,
    a file the embeddings are read from, or written to atomically)."""

    def __init__(self, requests, encoder: ScopeClassifier, batch_size: int = 128, cache: Path | None = None):
        self.texts, self.kinds = [], []
        for r in requests:
            fact = edit_text(r)
            self._add(demonstration(fact, r.prompt, r.target_new), "copy")
            for p in r.rephrase_prompts:
                self._add(demonstration(fact, p, r.target_new), "update")
            for q in r.locality:
                if q.kind == "neighborhood":
                    self._add(demonstration(fact, q.prompt, primary(q.answer)), "retain")
        self.encoder = encoder
        if cache is not None and cache.is_file():
            saved = torch.load(cache)
            if saved["texts"] == self.texts:
                self.embeddings = saved["embeddings"]
                return
        with torch.no_grad():
            self.embeddings = torch.cat([encoder.embed(self.texts[i:i + batch_size])
                                         for i in range(0, len(self.texts), batch_size)]) if self.texts else None
        if cache is not None:
            save_atomic({"texts": self.texts, "embeddings": self.embeddings}, cache)

    def _add(self, text: str, kind: str) -> None:
        self.texts.append(text)
        self.kinds.append(kind)

    @torch.no_grad()
    def nearest(self, request, k: int) -> list[str]:
        """The ``k`` demonstrations nearest to the edit, the nearest last."""
        if k <= 0 or self.embeddings is None:
            return []
        query = self.encoder.embed([FACT.format(fact=edit_text(request)) + request.prompt])[0]
        order = (self.embeddings @ query).topk(min(k, len(self.texts))).indices.tolist()
        return [self.texts[i] for i in reversed(order)]


class InContextModel(torch.nn.Module):
    """The base model reading a context before every row: one per edit (``apply_each``; rows
    pick theirs with ``row_edits``) or the stored facts' shared one.  Each context's keys and
    values are computed once (:class:`SharedContexts`)."""

    def __init__(self, base, tokenizer, contexts: list[list[int]], row_edits: RowEdits | None = None):
        super().__init__()
        self.base, self.tokenizer, self.row_edits = base, tokenizer, row_edits
        self.shared = SharedContexts(base, tokenizer, contexts)
        self.config, self.generation_config = base.config, base.generation_config

    @property
    def contexts(self) -> list[list[int]]:
        return self.shared.contexts

    @property
    def device(self):
        return self.base.device

    def _contexts_of(self, n_rows: int) -> list[int]:
        if self.row_edits is None:
            return [len(self.contexts) - 1] * n_rows
        return self.row_edits.current(n_rows).tolist()

    def forward(self, input_ids, attention_mask=None, position_ids=None, logits_to_keep: int = 0, **kwargs):
        rows = unpadded(input_ids, attention_mask)
        width = min(logits_to_keep, input_ids.shape[1]) if logits_to_keep else input_ids.shape[1]
        return CausalLMOutputWithPast(logits=self.shared.logits(rows, self._contexts_of(len(rows)), width))

    @torch.no_grad()
    def generate(self, input_ids, attention_mask=None, **kwargs):
        """Hugging Face's ``generate`` on each row read after its context; returns the rows
        followed by their new tokens (the context left out)."""
        rows = unpadded(input_ids, attention_mask)
        seqs = [after_context(self.tokenizer, self.contexts[c], r) for r, c in zip(rows, self._contexts_of(len(rows)))]
        batch = left_pad(seqs, pad_id(self.tokenizer))
        out = self.base.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **kwargs)
        return torch.cat([input_ids, out[:, batch["input_ids"].shape[1]:].to(input_ids.device)], dim=1)

    def greedy_continue(self, input_ids, attention_mask, *, on_rows=None, **kwargs) -> list[list[int]]:
        """The rows' greedy continuations after their contexts (chosen once, before decoding)."""
        rows = unpadded(input_ids, attention_mask)
        return self.shared.continuations(rows, self._contexts_of(len(rows)), **kwargs)


@register
class IKE(Editor):
    """In-context editing: the model reads retrieved demonstrations and the new fact."""

    name = "IKE"
    HParams = IKEHParams

    def __init__(self, hparams=None, *, pool: Demonstrations | None = None, **overrides):
        super().__init__(hparams, **overrides)
        self.pool = pool  # built on first use from the embedded split (a test may pass its own)

    def demonstrations(self) -> Demonstrations:
        """The pool of the embedded ``pool`` split, its embeddings cached under ``EDITNB_CACHE/ike``."""
        if self.pool is None:
            from ...data.embedded import load_embedded, split_path

            encoder = ScopeClassifier.load(self.hparams.encoder)
            digest = hashlib.sha256(split_path(self.hparams.pool).read_bytes()).hexdigest()[:10]
            name = Path(self.hparams.encoder).name if self.hparams.encoder else "all-MiniLM-L6-v2"
            self.pool = Demonstrations(load_embedded(self.hparams.pool), encoder,
                                       cache=cache_dir() / "ike" / f"{name}-{self.hparams.pool}-{digest}.pt")
        return self.pool

    def nearest(self, request) -> list[str]:
        """The demonstrations for ``request`` (none, and no pool built, when ``k`` is 0)."""
        return self.demonstrations().nearest(request, self.hparams.k) if self.hparams.k > 0 else []

    def left_out(self, tokenizer, facts: list) -> int:
        """How many of the oldest of ``facts`` (newest last) the context that :meth:`apply` builds
        for them leaves out: the memory a sequential point is scored with."""
        return self.context(tokenizer, facts, self.nearest(facts[-1]) if facts else [])[1]

    def context(self, tokenizer, facts: list, demos: list[str]) -> tuple[list[int], int]:
        """The context ids for ``facts`` (newest last) after ``demos``, within the budget; and how
        many of the oldest facts did not fit."""
        for dropped in range(len(facts)):
            text = "".join(demos) + "".join(FACT.format(fact=edit_text(r)) for r in facts[dropped:])
            ids = encode(tokenizer, text)
            if len(ids) <= self.hparams.budget or dropped == len(facts) - 1:
                return ids, dropped
        return encode(tokenizer, "".join(demos)), 0

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        """Store ``requests`` (batch or sequential alike: the facts accumulate in the context)."""
        base, prior = unwrap_adding(model, IKE)
        facts = (prior.requests if prior is not None else []) + list(requests)
        demos = self.nearest(facts[-1]) if facts else []
        ids, dropped = self.context(tokenizer, facts, demos)
        if dropped:
            warnings.warn(f"{self.name}: {dropped} of {len(facts)} stored facts do not fit the {self.hparams.budget}-token "
                          "context; the oldest were left out", stacklevel=2)
        if prior is not None:
            edited = prior
            edited.module.shared = SharedContexts(base, tokenizer, [ids])
        else:
            edited = EditedModel(InContextModel(base, tokenizer, [ids]), base, self, lambda: None, [])
        edited.requests += list(requests)
        edited.dropped = dropped
        return edited

    def apply_each(self, model, tokenizer, requests) -> EditedModel:
        """Every request as its own single edit: row b reads its own edit's context."""
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        requests = list(requests)
        contexts = [self.context(tokenizer, [r], self.nearest(r))[0] for r in requests]
        row_edits = RowEdits()
        return EditedModel(InContextModel(base, tokenizer, contexts, row_edits), base, self, lambda: None,
                           requests, row_edits=row_edits)


@dataclass(frozen=True)
class FactHParams(IKEHParams):
    k: int = 0


@register
class FactInPrompt(IKE):
    """The simplest in-context baseline: the unedited model reads "New Fact: ..." before every
    input, with no demonstrations (IKE with k = 0)."""

    name = "Fact-in-prompt"
    HParams = FactHParams
