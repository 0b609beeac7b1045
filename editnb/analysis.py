"""Summaries of evaluation rows: means, bootstrap intervals, tables, scope-score collections."""
from __future__ import annotations

import random
from collections import defaultdict

METRICS = ("rewrite_acc", "rephrase_acc", "locality", "portability", "fluency")


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def bootstrap_ci(values, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap interval of the mean, resampling requests."""
    values = [v for v in values if v is not None]
    if not values:
        return (None, None)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(n_boot))
    lo = means[int((1 - level) / 2 * n_boot)]
    hi = means[min(n_boot - 1, int((1 + level) / 2 * n_boot))]
    return (lo, hi)


def summarize(rows, metrics=METRICS, by=("protocol",)) -> dict:
    """Mean of each metric per group (e.g. per protocol, or per editor and protocol)."""
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in by)].append(row)
    return {key: {m: mean(r.get(m) for r in group) for m in metrics} | {"n": len(group)} for key, group in groups.items()}


def format_table(summary: dict, metrics=METRICS, by=("protocol",)) -> str:
    """A fixed-width text table of a summary (rounded to 3 decimals)."""
    head = [*by, *metrics, "n"]
    lines = ["  ".join(f"{h:>14}" for h in head)]
    for key, values in summary.items():
        cells = [f"{str(k):>14}" for k in key]
        cells += [f"{values[m]:>14.3f}" if values[m] is not None else f"{'-':>14}" for m in metrics]
        lines.append("  ".join(cells + [f"{values['n']:>14}"]))
    return "\n".join(lines)


def markdown_table(summary: dict, metrics=METRICS, by=("protocol",)) -> str:
    head = [*by, *metrics, "n"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, values in summary.items():
        cells = [str(k) for k in key] + [f"{values[m]:.3f}" if values[m] is not None else "-" for m in metrics]
        lines.append("| " + " | ".join(cells + [str(values["n"])]) + " |")
    return "\n".join(lines)


def scope_examples(requests) -> dict[str, list[str]]:
    """Inputs of three kinds for a scope classifier: in scope (prompt and rephrases), hard
    negatives (same relation, another subject) and unrelated facts."""
    kinds = {"in scope": [], "hard negative": [], "unrelated": []}
    for r in requests:
        kinds["in scope"] += [r.prompt, *r.rephrase_prompts]
        kinds["hard negative"] += [p.prompt for p in r.locality if p.kind == "neighborhood"]
        kinds["unrelated"] += [p.prompt for p in r.locality if p.kind != "neighborhood"]
    return kinds


def precision_recall(scores_in, scores_out, thresholds):
    """Precision and recall of routing (score > threshold) for in-scope versus out-of-scope scores."""
    curve = []
    for t in thresholds:
        tp = sum(s > t for s in scores_in)
        fp = sum(s > t for s in scores_out)
        curve.append((t, tp / (tp + fp) if tp + fp else 1.0, tp / len(scores_in) if scores_in else 0.0))
    return curve
