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

    def teacher_forced(self, model, tokenizer, pairs, edit_ids=None):
        return teacher_forced(model, tokenizer, pairs, batch_size=self.config.tf_batch_size, edit_ids=edit_ids,
                              disable=_disable(self.config))

    def generate(self, model, tokenizer, sequences, *, max_new_tokens, stop_strings, edit_ids=None):
        return greedy_generate(model, tokenizer, sequences, max_new_tokens=max_new_tokens, stop_strings=stop_strings,
                               stop_lookahead=self.config.stop_lookahead, batch_size=self.config.batch_size,
                               edit_ids=edit_ids, disable=_disable(self.config))


def _disable(config):
    return None if config.progress is None else not config.progress


@dataclass
class Outputs:
    """Raw scores keyed by probe and edit: teacher-forced by (edit, prompt, target), generations
    and fluency by (edit, prompt).  The edit is None for an ordinary (or unedited) model and
    the index of the edit for the result of ``apply_each``."""

    tf: dict[tuple, TeacherForced] = field(default_factory=dict)
    ar: dict[tuple, Generation] = field(default_factory=dict)
    fluency: dict[tuple, float] = field(default_factory=dict)
    config: EvalConfig | None = None


def _edits(keys, each):
    return [k[0] for k in keys] if each else None


def score_probes(model, tokenizer, tf_keys, ar_keys, fluency_keys, config: EvalConfig, scorer) -> Outputs:
    """Score each distinct (edit, probe) once (locality probes repeat across requests)."""
    out = Outputs(config=config)
    each = getattr(model, "each", False)
    tf_keys, ar_keys = list(dict.fromkeys(tf_keys)), list(dict.fromkeys(ar_keys))
    if tf_keys:
        pairs = [encode_prompt_target(tokenizer, p, t) for _, p, t in tf_keys]
        out.tf = dict(zip(tf_keys, scorer.teacher_forced(model, tokenizer, pairs, edit_ids=_edits(tf_keys, each))))
    if ar_keys:
        seqs = [encode(tokenizer, *in_context(tokenizer, p, config.context)) for _, p in ar_keys]
        gens = scorer.generate(model, tokenizer, seqs, max_new_tokens=config.max_new_tokens,
                               stop_strings=config.stop_strings, edit_ids=_edits(ar_keys, each))
        out.ar = dict(zip(ar_keys, gens))
    fluency_keys = list(dict.fromkeys(fluency_keys))
    if fluency_keys:
        seqs = [encode(tokenizer, p) for _, p in fluency_keys]
        gens = scorer.generate(model, tokenizer, seqs, max_new_tokens=config.fluency_max_new_tokens, stop_strings=(),
                               edit_ids=_edits(fluency_keys, each))
        out.fluency = {k: ngram_entropy(g.text) for k, g in zip(fluency_keys, gens)}
    return out


def _fluency_prompts(request: EditRequest) -> list[str]:
    return request.generation_prompts or [request.prompt]


def pre_edit(model, tokenizer, requests: list[EditRequest], config: EvalConfig | None = None, *, scorer=None) -> Outputs:
    """The unedited model's outputs on every locality and portability probe (and, teacher-forced,
    the edit's new target on neighborhood prompts), computed once and reused across editors
    (locality compares with them; portability reports its change)."""
    config = config or EvalConfig()
    scorer = scorer or BatchedScorer(config)
    if getattr(model, "each", False):
        raise ValueError("pre_edit scores the unedited model; this one holds edits")
    keys = [pre_edit_keys(r) for r in requests]
    return score_probes(model, tokenizer, [k for ks in keys for k in ks["tf"]], [k for ks in keys for k in ks["ar"]],
                        [], config, scorer)


def pre_edit_keys(request: EditRequest) -> dict[str, list[tuple]]:
    """The keys of :class:`Outputs` that :func:`pre_edit` fills for ``request``."""
    specs = [s for s in probes_of(request) if s.role in ("locality", "portability")]
    new_target = [(None, s.prompt, request.target_new) for s in specs if s.kind == "neighborhood"]
    return {"tf": [(None, s.prompt, s.target) for s in specs] + new_target, "ar": [(None, s.prompt) for s in specs]}



def answered_unedited(model, tokenizer, pre: Outputs | None, tf_keys, ar_keys, config: EvalConfig) -> Outputs:
    """``pre``'s outputs for the probes that ``model`` answers with the unedited model itself, as
    the model says through ``answers_unedited`` (SERAC routes an input out of every edit's scope
    to the untouched base model): the same computation, so it is not run again."""
    out = Outputs(config=config)
    ask = getattr(model, "answers_unedited", None)
    if pre is None or ask is None:
        return out
    tf = [k for k in dict.fromkeys(tf_keys) if (None, *k[1:]) in pre.tf]
    ar = [k for k in dict.fromkeys(ar_keys) if (None, k[1]) in pre.ar]
    inputs = ([list(encode_prompt_target(tokenizer, p, t).prompt_ids) for _, p, t in tf]
              + [encode(tokenizer, *in_context(tokenizer, p, config.context)) for _, p in ar])
    same = ask(inputs, [k[0] for k in tf + ar]) if inputs else []
    out.tf = {k: pre.tf[(None, *k[1:])] for k, s in zip(tf, same[:len(tf)]) if s}
    out.ar = {k: pre.ar[(None, k[1])] for k, s in zip(ar, same[len(tf):]) if s}
    return out


def evaluate(model, tokenizer, requests: list[EditRequest], *, protocols=PROTOCOLS, pre: Outputs | None = None,
             config: EvalConfig | None = None, scorer=None, unedited: bool = False) -> list[dict]:
    """One row per request and protocol with ``rewrite_acc``, ``rephrase_acc``, ``locality``,
    ``portability``, ``fluency`` (None where a request has no such probe) and per-probe details.

    ``locality`` is agreement with the pre-edit model, so it needs ``pre`` (from :func:`pre_edit`
    on the unedited model); without it, locality is None and only the accuracies are reported.
    ``model`` is anything with a causal-LM ``forward`` and ``generate`` (wrapped editors too).
    ``unedited=True`` says that ``model`` is the model ``pre`` was computed on: its outputs on
    the locality and portability probes are then taken from ``pre`` instead of recomputed.
    """
    config = config or EvalConfig()
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown:
        raise ValueError(f"unknown protocols {sorted(unknown)}; choose from {PROTOCOLS}")
    if pre is not None and pre.config is not None and pre.config.raw_outputs() != config.raw_outputs():
        raise ValueError("pre-edit outputs were computed with another EvalConfig; recompute them with this one")
    scorer = scorer or BatchedScorer(config)
    # the edit each request's probes are scored on: its own one for apply_each's model
    edit = {r.id: model.edit_index(r) for r in requests} if getattr(model, "each", False) else dict.fromkeys(r.id for r in requests)
    specs = {r.id: probes_of(r) for r in requests}
    tf_keys, ar_keys, fluency = [], [], []
    for r in requests:
        e = edit[r.id]
        if "teacher_forced" in protocols:
            tf_keys += [(e, s.prompt, s.target) for s in specs[r.id]]
            # neighborhood prompts are also scored with the edit's new target (ROME's CounterFact locality)
            tf_keys += [(e, s.prompt, r.target_new) for s in specs[r.id] if s.kind == "neighborhood"]
        if "autoregressive" in protocols:
            ar_keys += [(e, s.prompt) for s in specs[r.id]]
        if config.fluency:
            fluency += [(e, p) for p in _fluency_prompts(r)]
    if unedited and (pre is None or getattr(model, "each", False)):
        raise ValueError("unedited=True reuses pre-edit outputs: pass pre, and the unedited model")
    known = pre if unedited else answered_unedited(model, tokenizer, pre, tf_keys, ar_keys, config)
    post = score_probes(model, tokenizer, [k for k in tf_keys if k not in known.tf], [k for k in ar_keys if k not in known.ar],
                        fluency, config, scorer)
    post.tf, post.ar = known.tf | post.tf, known.ar | post.ar
    rows = []
    for request in requests:
        e, flu = edit[request.id], None
        if config.fluency:
            values = [post.fluency[(e, p)] for p in _fluency_prompts(request)]
            flu = sum(values) / len(values)
        for protocol in protocols:
            if protocol == "teacher_forced":
                details = [tf_detail(s, post.tf[(e, s.prompt, s.target)], pre.tf.get((None, s.prompt, s.target)) if pre else None,
                                     post.tf.get((e, s.prompt, request.target_new)) if s.kind == "neighborhood" else None)
                           for s in specs[request.id]]
            else:
                details = [ar_detail(s, post.ar[(e, s.prompt)], pre.ar.get((None, s.prompt)) if pre else None, match=config.match,
                                     stop_strings=config.stop_strings,
                                     target_ids=encode_prompt_target(tokenizer, s.prompt, s.target).target_ids)
                           for s in specs[request.id]]
            rows.append(summarize(request, protocol, details, flu))
    return rows
