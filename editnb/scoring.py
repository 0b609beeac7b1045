"""Teacher-forced scoring of targets: one batched forward pass, per-token log-probabilities."""
from __future__ import annotations

import torch

from .losses import per_example_log_probs, token_log_probs
from .tokenization import encode_prompt_target, teacher_forced_batch

MODEL_INPUTS = ("input_ids", "attention_mask", "position_ids", "labels")


def forward_logits(model, batch: dict) -> torch.Tensor:
    """Logits of a left-padded batch; explicit position ids keep padded rows equal to unpadded ones.

    The labels go along as in any Hugging Face call: a wrapped editor (SERAC) reads them to
    tell the prompt from the gold target, so that routing never sees the target.
    """
    return model(**{k: batch[k] for k in MODEL_INPUTS if k in batch}).logits


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
