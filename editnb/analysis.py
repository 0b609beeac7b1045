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


def locality_probes(rows) -> list[dict]:
    """Every locality probe of every row, with its editor and protocol."""
    return [dict(p, editor=r.get("editor", ""), protocol=r["protocol"], id=r["id"])
            for r in rows for p in r["probes"] if p["role"] == "locality"]


LOCALITY_DEFINITIONS = ("teacher-forced agreement", "generated-token agreement", "whole-string agreement",
                        "accuracy before", "accuracy after", "accuracy after | known before")


def locality_definitions(rows, by=("editor",)) -> dict:
    """Locality under every definition, per group: agreement with the unedited model (teacher-forced
    argmax tokens, generated tokens, whole generated string) and accuracy against the true answer
    before and after the edit (generation), the last restricted to facts the model knew."""
    out = {}
    probes = locality_probes(rows)
    for key in dict.fromkeys(tuple(p.get(k) for k in by) for p in probes):
        group = [p for p in probes if tuple(p.get(k) for k in by) == key]
        tf = [p for p in group if p["protocol"] == "teacher_forced"]
        ar = [p for p in group if p["protocol"] == "autoregressive"]
        known = [p for p in ar if p["acc_pre"] == 1.0]
        out[key] = {
            "teacher-forced agreement": mean(p["agreement"] for p in tf),
            "generated-token agreement": mean(p["agreement"] for p in ar),
            "whole-string agreement": mean(p["whole"] for p in ar),
            "accuracy before": mean(p["acc_pre"] for p in ar),
            "accuracy after": mean(p["acc_post"] for p in ar),
            "accuracy after | known before": mean(p["acc_post"] for p in known),
            "n": len(ar),
        }
    return out


def first_divergence(rows) -> dict[str, list[int]]:
    """Per editor, the position of the first generated token that differs from the unedited
    model's, over locality probes whose generation changed."""
    out = {}
    for p in locality_probes(rows):
        if p["protocol"] == "autoregressive" and p.get("first_diff") is not None:
            out.setdefault(p["editor"], []).append(p["first_diff"])
    return out
