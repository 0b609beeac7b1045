"""What the model knows before any edit: greedy completion of each request's true fact."""
from __future__ import annotations

from collections import defaultdict

from .config import EvalConfig
from .core import BatchedScorer, score_probes
from .verdicts import verdicts


def knows_facts(model, tokenizer, requests, config: EvalConfig | None = None) -> list[dict]:
    """For each request with a ground truth: the greedy continuation of its prompt and whether
    it names the true object, under the configuration's headline verdict (``match``)."""
    config = config or EvalConfig()
    requests = [r for r in requests if r.ground_truth]
    gens = score_probes(model, tokenizer, [], [(None, r.prompt) for r in requests], [], config, BatchedScorer(config)).ar
    rows = []
    for r in requests:
        v = verdicts(gens[(None, r.prompt)].text, r.ground_truth, config.stop_strings)
        rows.append({"id": r.id, "relation": r.relation, "prompt": r.prompt, "text": v["answer_text"], "knows": v[config.match]})
    return rows


def share_by_relation(rows: list[dict]) -> dict[str, float]:
    """Share of facts known, per relation and overall (key ``"all"``)."""
    groups = defaultdict(list)
    for row in rows:
        groups[row["relation"]].append(row["knows"])
        groups["all"].append(row["knows"])
    return {k: sum(v) / len(v) for k, v in sorted(groups.items())}
