"""Teacher-forced scoring of (prompt, target) pairs in length-sorted left-padded batches."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..losses import per_example_log_probs, token_log_probs
from ..progress import progress
from ..scoring import forward_logits, target_columns
from ..tokenization import PromptTarget, teacher_forced_batch
from .rows import rows_context


@dataclass(frozen=True)
class TeacherForced:
    """A target scored under teacher forcing: token accuracy, exact match, NLL, mean token probability,
    and the argmax token at each target position (for locality agreement)."""

    acc: float
    exact_match: float
    nll: float
    prob: float
    argmax: tuple[int, ...]


def score_rows(logits, labels) -> list[TeacherForced]:
    """Per-row teacher-forced metrics from logits and ``-100``-masked labels (via editnb.losses)."""
    per_row = per_example_log_probs(logits, labels)
    _, mask, _ = token_log_probs(logits, labels)
    argmax = logits[:, :-1].argmax(-1)
    return [
        TeacherForced(
            acc=per_row["acc"][i].item(), exact_match=per_row["exact_match"][i].item(),
            nll=per_row["nll"][i].item(), prob=per_row["prob"][i].item(),
            argmax=tuple(argmax[i][mask[i]].tolist()),
        )
        for i in range(logits.shape[0])
    ]


@torch.no_grad()
def teacher_forced(model, tokenizer, pairs: list[PromptTarget], *, batch_size: int = 16, edit_ids=None,
                   desc: str = "teacher-forced", disable=None) -> list[TeacherForced]:
    """Score every pair; batches group pairs of similar length to waste little on padding.

    ``edit_ids`` (for the result of ``apply_each``): pair i is scored on edit ``edit_ids[i]``."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].ids))
    out: list[TeacherForced | None] = [None] * len(pairs)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for idx in progress(batches, desc=desc, disable=disable):
        batch = teacher_forced_batch(tokenizer, [pairs[i] for i in idx])
        keep = target_columns(batch["labels"])
        with rows_context(model, edit_ids, idx):
            logits = forward_logits(model, batch, last=keep)
        for i, result in zip(idx, score_rows(logits, batch["labels"][:, -keep:])):
            out[i] = result
    return out
