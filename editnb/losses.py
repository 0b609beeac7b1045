"""Token-level losses shared by editors and evaluators.

`labels` follow the Hugging Face convention: ``-100`` marks a position that does
not count (prompt, padding).  With ``shift=True`` (causal LMs) the logits at
position t predict the label at position t + 1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def _align(logits: torch.Tensor, labels: torch.Tensor, shift: bool):
    if logits.dim() != 3 or labels.dim() != 2:
        raise ValueError(
            f"expected logits [batch, time, vocab] and labels [batch, time], "
            f"got {tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    if shift:
        logits, labels = logits[:, :-1], labels[:, 1:]
    if logits.shape[:2] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match labels {tuple(labels.shape)}")
    return logits, labels


def token_log_probs(logits: torch.Tensor, labels: torch.Tensor, *, shift: bool = True):
    """Per-position log-probability of the label, the count mask, and argmax correctness.

    Returns ``(log_probs, mask, correct)``, each ``[batch, time']`` where time' is
    ``time - 1`` with ``shift``.  Masked positions hold 0 log-probability and False.
    """
    logits, labels = _align(logits, labels, shift)
    mask = labels != IGNORE_INDEX
    safe_labels = labels.masked_fill(~mask, 0)
    log_probs = logits.float().log_softmax(-1).gather(-1, safe_labels.unsqueeze(-1)).squeeze(-1)
    log_probs = log_probs * mask
    correct = (logits.argmax(-1) == safe_labels) & mask
    return log_probs, mask, correct


def _require_tokens(n: torch.Tensor, what: str) -> None:
    if int(n) == 0:
        raise ValueError(f"{what}: no counted token (every label is -100); the loss would be NaN")


def masked_log_probs(logits, labels, *, shift: bool = True, exact_match: bool = False) -> dict:
    """Micro-averaged NLL and accuracy over every counted token of the batch.

    Keys: ``nll`` (= -log_prob), ``log_prob`` and ``prob`` (mean over counted tokens
    of the log-probability and of the probability), ``acc`` (token accuracy, or with
    ``exact_match`` the share of rows whose every counted token is the argmax;
    rows with no counted token are left out), ``n_tokens``.
    """
    log_probs, mask, correct = token_log_probs(logits, labels, shift=shift)
    n_tokens = mask.sum()
    _require_tokens(n_tokens, "masked_log_probs")
    log_prob = log_probs.sum() / n_tokens
    prob = (log_probs.exp() * mask).sum() / n_tokens
    if exact_match:
        rows = mask.any(-1)
        row_ok = (correct | ~mask).all(-1) & rows
        acc = row_ok.sum().float() / rows.sum()
    else:
        acc = correct.sum().float() / n_tokens
    return {"nll": -log_prob, "log_prob": log_prob, "prob": prob, "acc": acc, "n_tokens": n_tokens}


def per_example_log_probs(logits, labels, *, shift: bool = True) -> dict:
    """The same quantities, one value per row (EasyEdit's evaluators average this way).

    Keys: ``nll``, ``log_prob``, ``prob``, ``acc`` (token accuracy of the row),
    ``exact_match`` (1.0 when every counted token of the row is the argmax),
    ``n_tokens``.  Every row needs at least one counted token.
    """
    log_probs, mask, correct = token_log_probs(logits, labels, shift=shift)
    n_tokens = mask.sum(-1)
    empty = (n_tokens == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"per_example_log_probs: rows {empty} have no counted token (all labels are -100)")
    denom = n_tokens.float()
    log_prob = log_probs.sum(-1) / denom
    return {
        "nll": -log_prob,
        "log_prob": log_prob,
        "prob": (log_probs.exp() * mask).sum(-1) / denom,
        "acc": correct.sum(-1).float() / denom,
        "exact_match": (correct | ~mask).all(-1).float(),
        "n_tokens": n_tokens,
    }


def kl_loc_loss(pre_logits: torch.Tensor, post_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over masked positions of KL(p_pre || p_post): the locality penalty.

    ``mask`` is ``[batch, time]`` (True or 1 where the position counts); the pre-edit
    distribution is treated as a constant.
    """
    if pre_logits.shape != post_logits.shape:
        raise ValueError(f"pre {tuple(pre_logits.shape)} and post {tuple(post_logits.shape)} logits differ in shape")
    mask = mask.bool()
    if mask.shape != pre_logits.shape[:-1]:
        raise ValueError(f"mask {tuple(mask.shape)} does not match logits {tuple(pre_logits.shape[:-1])}")
    n = mask.sum()
    _require_tokens(n, "kl_loc_loss")
    pre_logp = pre_logits.detach().float().log_softmax(-1)
    post_logp = post_logits.float().log_softmax(-1)
    kl = (pre_logp.exp() * (pre_logp - post_logp)).sum(-1)
    return (kl * mask).sum() / n


def balanced_bce_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits, positives and negatives weighted equally.

    The scope classifier sees many more negatives than positives; balancing keeps
    it from learning to say "out of scope" to everything.
    """
    targets = targets.float()
    pos, neg = targets > 0.5, targets <= 0.5
    if not pos.any() or not neg.any():
        raise ValueError("balanced_bce_loss needs at least one positive and one negative example")
    losses = F.binary_cross_entropy_with_logits(scores.float(), targets, reduction="none")
    return 0.5 * (losses[pos].mean() + losses[neg].mean())
