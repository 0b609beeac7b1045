"""What the model knows before any edit: greedy completion of each request's true fact."""
from __future__ import annotations

from collections import defaultdict

from ..data import matches
from ..tokenization import encode
from .config import EvalConfig, in_context
from .generation import greedy_generate


def knows_facts(model, tokenizer, requests, config: EvalConfig | None = None) -> list[dict]:
    """For each request with a ground truth: the greedy continuation of its prompt and whether
    it names the true object (alias match, as the autoregressive protocol scores)."""
    config = config or EvalConfig()
    requests = [r for r in requests if r.ground_truth]
    seqs = [encode(tokenizer, *in_context(tokenizer, r.prompt, config.context)) for r in requests]
    gens = greedy_generate(model, tokenizer, seqs, max_new_tokens=config.max_new_tokens, stop_strings=config.stop_strings,
                           batch_size=config.batch_size, desc="known facts")
    return [{"id": r.id, "relation": r.relation, "prompt": r.prompt, "text": g.text, "knows": matches(g.text, r.ground_truth)}
            for r, g in zip(requests, gens)]


def share_by_relation(rows: list[dict]) -> dict[str, float]:
    """Share of facts known, per relation and overall (key ``"all"``)."""
    groups = defaultdict(list)
    for row in rows:
        groups[row["relation"]].append(row["knows"])
        groups["all"].append(row["knows"])
    return {k: sum(v) / len(v) for k, v in sorted(groups.items())}
