"""Teacher-forced scoring of targets: one batched forward pass, per-token log-probabilities."""
from __future__ import annotations

import torch

from .losses import per_example_log_probs, token_log_probs
from .tokenization import encode_prompt_target, teacher_forced_batch


def forward_logits(model, batch: dict, *, last: int | None = None) -> torch.Tensor:
    """Logits of a left-padded batch; explicit position ids keep padded rows equal to unpadded ones.

    ``last``: the logits of the last ``last`` positions only (targets sit at the right end of
    a left-padded batch, so the LM head and softmax skip the prompt).  The labels go along
    only to a wrapped editor that routes on them (``routes_on_labels``: SERAC tells the
    prompt from the gold target with them, so that routing never sees the target); a plain
    Hugging Face model would spend a full-vocabulary loss on them.
    """
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
    if getattr(model, "routes_on_labels", False) and "labels" in batch:
        inputs["labels"] = batch["labels"]
    if last is not None:
        inputs["logits_to_keep"] = last
    return model(**inputs).logits


def target_columns(labels: torch.Tensor) -> int:
    """How many positions at the right end of a left-padded batch hold every target token and
    the one before the first (the logits :func:`forward_logits` needs with ``last``)."""
    scored = (labels != -100).any(0).nonzero()
    return min(labels.shape[1] - int(scored[0]) + 1, labels.shape[1]) if len(scored) else 1


@torch.no_grad()
def score_targets(model, tokenizer, prompt: str, targets: list[str]) -> list[dict]:
    """For each target after ``prompt``: its tokens, their log-probabilities and argmax hits, NLL and accuracy."""
    pairs = [encode_prompt_target(tokenizer, prompt, t) for t in targets]
    batch = teacher_forced_batch(tokenizer, pairs)
    logits = forward_logits(model, batch)
    log_probs, mask, correct = token_log_probs(logits, batch["labels"])
    per_row = per_example_log_probs(logits, batch["labels"])
    rows = []
    for i, (target, pair) in enumerate(zip(targets, pairs)):
        rows.append({
            "target": target,
            "tokens": tokenizer.convert_ids_to_tokens(list(pair.target_ids)),
            "log_probs": log_probs[i][mask[i]].tolist(),
            "correct": correct[i][mask[i]].tolist(),
            "nll": per_row["nll"][i].item(),
            "acc": per_row["acc"][i].item(),
        })
    return rows
