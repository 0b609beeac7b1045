"""Tokenizing prompts and targets in context, and padding batches on the left.

A target is tokenized *in context*: we tokenize the prompt and the prompt joined
with the target, and the target's tokens are whatever the second adds to the
first.  This handles tokenizers that merge the leading space into the word
(BPE's "Ġ", SentencePiece's "▁"), where tokenizing ``" " + target`` alone does not
give the tokens the model sees.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .losses import IGNORE_INDEX


def join_prompt_target(prompt: str, target: str) -> str:
    """The text a model should read: one space between prompt and target unless one is there."""
    if not target or prompt.endswith((" ", "\n")) or target.startswith((" ", "\n")) or not prompt:
        return prompt + target
    return f"{prompt} {target}"


def encode(tokenizer, text: str, add_special_tokens: bool = True) -> list[int]:
    """Token ids of ``text``, by default with the tokenizer's own special tokens (e.g. Llama's BOS)."""
    return list(tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])


@dataclass(frozen=True)
class PromptTarget:
    """Token ids of a prompt and of its target as the model sees them together."""

    prompt_ids: tuple[int, ...]
    target_ids: tuple[int, ...]

    @property
    def ids(self) -> list[int]:
        return list(self.prompt_ids + self.target_ids)

    @property
    def labels(self) -> list[int]:
        return [IGNORE_INDEX] * len(self.prompt_ids) + list(self.target_ids)


def encode_prompt_target(tokenizer, prompt: str, target: str) -> PromptTarget:
    """Split the tokens of ``prompt + target`` into the prompt's and the target's.

    When the tokenizer merges across the boundary, the shared prefix is the prompt
    and the rest is the target; the target is never empty.
    """
    if not target.strip():
        raise ValueError(f"empty target for prompt {prompt!r}")
    prompt_ids = encode(tokenizer, prompt)
    full_ids = encode(tokenizer, join_prompt_target(prompt, target))
    eos = tokenizer.eos_token_id
    if len(full_ids) > 1 and full_ids[-1] == eos and (not prompt_ids or prompt_ids[-1] == eos):
        prompt_ids, full_ids = prompt_ids[:-1], full_ids[:-1]  # tokenizers that append EOS
    n = 0
    while n < min(len(prompt_ids), len(full_ids)) and prompt_ids[n] == full_ids[n]:
        n += 1
    if n == len(full_ids):
        raise ValueError(f"target {target!r} adds no token to prompt {prompt!r}")
    return PromptTarget(tuple(full_ids[:n]), tuple(full_ids[n:]))


def pad_id(tokenizer) -> int:
    """The id used for padding: the pad token, else EOS (GPT-2 has no pad token)."""
    pid = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pid is None:
        raise ValueError(f"{type(tokenizer).__name__} has neither a pad nor an EOS token")
    return pid


def left_pad(sequences: list[list[int]], pad: int, labels: list[list[int]] | None = None):
    """Stack sequences padded on the left: ``input_ids``, ``attention_mask``, ``position_ids`` (and ``labels``)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, seq in enumerate(sequences):
        if seq:
            ids[i, width - len(seq):] = torch.tensor(seq)
            mask[i, width - len(seq):] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "position_ids": (mask.cumsum(-1) - 1).clamp(min=0)}
    if labels is not None:
        lab = torch.full((len(sequences), width), IGNORE_INDEX, dtype=torch.long)
        for i, row in enumerate(labels):
            if row:
                lab[i, width - len(row):] = torch.tensor(row)
        batch["labels"] = lab
    return batch


def teacher_forced_batch(tokenizer, pairs: list[PromptTarget]) -> dict:
    """A left-padded batch of prompt+target rows with ``-100`` on prompt and padding."""
    return left_pad([p.ids for p in pairs], pad_id(tokenizer), labels=[p.labels for p in pairs])
