"""evaluate(): every request under both protocols, each distinct probe scored once, in batches."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..data import EditRequest
from ..tokenization import encode_prompt_target, encode
from .config import EvalConfig, in_context
from .fluency import ngram_entropy
from .generation import Generation, greedy_generate
from .probes import ar_detail, probes_of, summarize, tf_detail
from .teacher_forced import TeacherForced, teacher_forced

PROTOCOLS = ("teacher_forced", "autoregressive")


class BatchedScorer:
    """Scores lists of probes with batched forward passes and batched cached generation."""

    def __init__(self, config: EvalConfig):
        self.config = config

    def teacher_forced(self, model, tokenizer, pairs):
        return teacher_forced(model, tokenizer, pairs, batch_size=self.config.batch_size, disable=_disable(self.config))

    def generate(self, model, tokenizer, sequences, *, max_new_tokens, stop_strings):
        return greedy_generate(model, tokenizer, sequences, max_new_tokens=max_new_tokens, stop_strings=stop_strings,
                               stop_lookahead=self.config.stop_lookahead, batch_size=self.config.batch_size,
                               disable=_disable(self.config))


def _disable(config):
    return None if config.progress is None else not config.progress


@dataclass
class Outputs:
    """Raw scores keyed by probe: teacher-forced by (prompt, target), generations by prompt."""

    tf: dict[tuple[str, str], TeacherForced] = field(default_factory=dict)
    ar: dict[str, Generation] = field(default_factory=dict)
    fluency: dict[str, float] = field(default_factory=dict)
    config: EvalConfig | None = None


def score_probes(model, tokenizer, tf_keys, ar_keys, fluency_prompts, config: EvalConfig, scorer) -> Outputs:
    """Score each distinct probe once (locality probes repeat across requests)."""
    out = Outputs(config=config)
    tf_keys, ar_keys = list(dict.fromkeys(tf_keys)), list(dict.fromkeys(ar_keys))
    if tf_keys:
        pairs = [encode_prompt_target(tokenizer, p, t) for p, t in tf_keys]
        out.tf = dict(zip(tf_keys, scorer.teacher_forced(model, tokenizer, pairs)))
    if ar_keys:
        seqs = [encode(tokenizer, *in_context(tokenizer, p, config.context)) for p in ar_keys]
        gens = scorer.generate(model, tokenizer, seqs, max_new_tokens=config.max_new_tokens, stop_strings=config.stop_strings)
        out.ar = dict(zip(ar_keys, gens))
    fluency_prompts = list(dict.fromkeys(fluency_prompts))
    if fluency_prompts:
        seqs = [encode(tokenizer, p) for p in fluency_prompts]
        gens = scorer.generate(model, tokenizer, seqs, max_new_tokens=config.fluency_max_new_tokens, stop_strings=())
        out.fluency = {p: ngram_entropy(g.text) for p, g in zip(fluency_prompts, gens)}
    return out


def _fluency_prompts(request: EditRequest) -> list[str]:
    return request.generation_prompts or [request.prompt]


def pre_edit(model, tokenizer, requests: list[EditRequest], config: EvalConfig | None = None, *, scorer=None) -> Outputs:
    """The unedited model's outputs on every locality and portability probe, computed once and
    reused across editors (locality compares with them; portability reports its change)."""
    config = config or EvalConfig()
    scorer = scorer or BatchedScorer(config)
    specs = [s for r in requests for s in probes_of(r) if s.role in ("locality", "portability")]
    return score_probes(model, tokenizer, [(s.prompt, s.target) for s in specs], [s.prompt for s in specs], [], config, scorer)


def evaluate(model, tokenizer, requests: list[EditRequest], *, protocols=PROTOCOLS, pre: Outputs | None = None,
             config: EvalConfig | None = None, scorer=None) -> list[dict]:
    """One row per request and protocol with ``rewrite_acc``, ``rephrase_acc``, ``locality``,
    ``portability``, ``fluency`` (None where a request has no such probe) and per-probe details.

    ``locality`` is agreement with the pre-edit model, so it needs ``pre`` (from :func:`pre_edit`
    on the unedited model); without it, locality is None and only the accuracies are reported.
    ``model`` is anything with a causal-LM ``forward`` and ``generate`` (wrapped editors too).
    """
    config = config or EvalConfig()
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown:
        raise ValueError(f"unknown protocols {sorted(unknown)}; choose from {PROTOCOLS}")
    if pre is not None and pre.config is not None and pre.config != config:
        raise ValueError("pre-edit outputs were computed with another EvalConfig; recompute them with this one")
    scorer = scorer or BatchedScorer(config)
    specs = {r.id: probes_of(r) for r in requests}
    all_specs = [s for ss in specs.values() for s in ss]
    # neighborhood prompts are also scored with the edit's new target (ROME's CounterFact locality)
    new_target = [(s.prompt, r.target_new) for r in requests for s in specs[r.id] if s.kind == "neighborhood"]
    tf_keys = [(s.prompt, s.target) for s in all_specs] + new_target if "teacher_forced" in protocols else []
    ar_keys = [s.prompt for s in all_specs] if "autoregressive" in protocols else []
    fluency = [p for r in requests for p in _fluency_prompts(r)] if config.fluency else []
    post = score_probes(model, tokenizer, tf_keys, ar_keys, fluency, config, scorer)
    rows = []
    for request in requests:
        flu = None
        if config.fluency:
            values = [post.fluency[p] for p in _fluency_prompts(request)]
            flu = sum(values) / len(values)
        for protocol in protocols:
            if protocol == "teacher_forced":
                details = [tf_detail(s, post.tf[(s.prompt, s.target)], pre.tf.get((s.prompt, s.target)) if pre else None,
                                     post.tf.get((s.prompt, request.target_new)) if s.kind == "neighborhood" else None)
                           for s in specs[request.id]]
            else:
                details = [ar_detail(s, post.ar[s.prompt], pre.ar.get(s.prompt) if pre else None, match=config.match,
                                     stop_strings=config.stop_strings,
                                     target_ids=encode_prompt_target(tokenizer, s.prompt, s.target).target_ids)
                           for s in specs[request.id]]
            rows.append(summarize(request, protocol, details, flu))
    return rows
