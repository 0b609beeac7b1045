"""Which probes a request asks, and the per-probe metrics built from raw scores."""
from __future__ import annotations

from dataclasses import dataclass

from ..data import EditRequest
from ..data.answers import primary
from .generation import Generation
from .teacher_forced import TeacherForced
from .verdicts import verdicts


@dataclass(frozen=True)
class ProbeSpec:
    """One question put to the model: the prompt, the answer that counts, and its role."""

    role: str  # rewrite | rephrase | portability | locality
    prompt: str
    answer: list  # alias groups
    kind: str = ""

    @property
    def target(self) -> str:
        return primary(self.answer)


def probes_of(request: EditRequest) -> list[ProbeSpec]:
    specs = [ProbeSpec("rewrite", request.prompt, request.target_answer)]
    specs += [ProbeSpec("rephrase", p, request.target_answer) for p in request.rephrase_prompts]
    specs += [ProbeSpec("portability", p.prompt, p.answer, p.kind) for p in request.portability]
    specs += [ProbeSpec("locality", p.prompt, p.answer, p.kind) for p in request.locality]
    return specs


def token_agreement(pre: tuple[int, ...], post: tuple[int, ...]) -> float:
    """Share of the pre-edit tokens that the post-edit output repeats at the same position."""
    if not pre:
        return float(not post)
    return sum(a == b for a, b in zip(pre, post)) / len(pre)


def first_difference(pre: tuple[int, ...], post: tuple[int, ...]) -> int | None:
    """Position of the first differing token (None when identical)."""
    for i, (a, b) in enumerate(zip(pre, post)):
        if a != b:
            return i
    return None if len(pre) == len(post) else min(len(pre), len(post))


def tf_detail(spec: ProbeSpec, post: TeacherForced, pre: TeacherForced | None, post_new: TeacherForced | None = None) -> dict:
    """Teacher-forced metrics of one probe.  For a locality probe, ``post_new`` scores the edit's
    new target on the same prompt: ``ns`` is the comparison of ROME's CounterFact neighborhood
    score, whether the probe's true answer stays more likely than the new target (mean token NLL,
    as ROME compares them).  CounterFact's neighbours share the edited fact's true object; ours
    (same relation, another subject) each have their own true answer."""
    detail = {"role": spec.role, "kind": spec.kind, "prompt": spec.prompt, "target": spec.target,
              "acc": post.acc, "exact_match": post.exact_match, "nll": post.nll, "prob": post.prob}
    if spec.role in ("locality", "portability"):
        detail["acc_post"] = post.acc
        detail["acc_pre"] = pre.acc if pre else None
    if spec.role == "locality":
        detail["agreement"] = token_agreement(pre.argmax, post.argmax) if pre else None
        detail["ns"] = float(post.nll < post_new.nll) if post_new is not None else None
    return detail


def first_tokens(gen: Generation, target_ids) -> tuple[float, float]:
    """EasyEdit's generation check, kept to measure what it leaks: the first ``len(target)``
    greedy tokens against the target's tokens; (all equal, share equal)."""
    n = len(target_ids)
    hits = [a == b for a, b in zip(gen.token_ids[:n], target_ids)] + [False] * max(0, n - len(gen.token_ids))
    return float(all(hits)), sum(hits) / n if n else 0.0


def ar_detail(spec: ProbeSpec, post: Generation, pre: Generation | None, *, match: str, stop_strings,
              target_ids=()) -> dict:
    """Generation metrics of one probe: the answer as cut, its three verdicts (``success`` is the
    one named by ``match``), EasyEdit's first-L-tokens check, and for locality and portability
    the same against the unedited model's continuation."""
    v = verdicts(post.text, spec.answer, stop_strings)
    cut = post.tokens_before(len(v["answer_text"]))
    first_all, first_acc = first_tokens(post, target_ids)
    # the first L tokens' text under the word verdict: isolates "token ids vs the primary target"
    # -> "words vs any alias" from "length given" -> "natural stop" in the decomposition
    first_text = post.text[:post.ends[min(len(target_ids), len(post.ends)) - 1]] if target_ids and post.ends else post.text
    first_prefix = verdicts(first_text, spec.answer, stop_strings)["prefix"]
    detail = {"role": spec.role, "kind": spec.kind, "prompt": spec.prompt, "target": spec.target,
              "text": v["answer_text"], "success": float(v[match]), "prefix": float(v["prefix"]),
              "exact": float(v["exact"]), "contains": float(v["contains"]), "first_L": first_all,
              "first_L_acc": first_acc, "first_L_prefix": float(first_prefix), "n_tokens": len(cut)}
    if spec.role in ("locality", "portability"):
        v_pre = verdicts(pre.text, spec.answer, stop_strings) if pre else None
        detail["acc_post"] = float(v[match])
        detail["acc_pre"] = float(v_pre[match]) if pre else None
    if spec.role == "locality":
        cut_pre = pre.tokens_before(len(v_pre["answer_text"])) if pre else None
        detail["text_pre"] = v_pre["answer_text"] if pre else None
        detail["agreement"] = token_agreement(cut_pre, cut) if pre else None
        detail["whole"] = float(v_pre["answer_text"] == v["answer_text"]) if pre else None
        detail["first_diff"] = first_difference(cut_pre, cut) if pre else None
    return detail


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


VERDICTS = {"teacher_forced": ("acc", "exact_match"),
            "autoregressive": ("prefix", "exact", "contains", "first_L", "first_L_acc", "first_L_prefix")}


def summarize(request: EditRequest, protocol: str, details: list[dict], fluency: float | None) -> dict:
    """One result row: EasyEdit's metric names (``rewrite_acc``, ``rephrase_acc``, ``locality``,
    ``portability``) for the headline verdict, per-request means over probes, every verdict
    as ``{role}_{verdict}``, and the per-probe details.

    ``portability_delta`` is the change from the unedited model (None without pre-edit
    outputs): a model that already answers a portability question scores without any edit.
    ``locality_ns`` is the share of neighborhood probes whose true answer stays more likely than
    the new target (ROME's CounterFact comparison; teacher forcing).
    """
    main = "acc" if protocol == "teacher_forced" else "success"
    by_role = {role: [d for d in details if d["role"] == role] for role in ("rewrite", "rephrase", "portability", "locality")}
    loc, port = by_role["locality"], by_role["portability"]
    portability, portability_pre = _mean(d[main] for d in port), _mean(d["acc_pre"] for d in port)
    row = {
        "id": request.id, "protocol": protocol, "relation": request.relation,
        "rewrite_acc": by_role["rewrite"][0][main],
        "rephrase_acc": _mean(d[main] for d in by_role["rephrase"]),
        "locality": _mean(d["agreement"] for d in loc),
        "portability": portability,
        "portability_pre": portability_pre,
        "portability_delta": portability - portability_pre if portability_pre is not None else None,
        "fluency": fluency,
        "locality_acc_pre": _mean(d["acc_pre"] for d in loc),
        "locality_acc_post": _mean(d["acc_post"] for d in loc),
        "probes": details,
    }
    for role in ("rewrite", "rephrase", "portability"):
        for name in VERDICTS[protocol]:
            row[f"{role}_{name}"] = _mean(d[name] for d in by_role[role])
    rewrite = by_role["rewrite"][0]
    if protocol == "teacher_forced":
        row.update(rewrite_em=rewrite["exact_match"], rewrite_nll=rewrite["nll"], rewrite_prob=rewrite["prob"],
                   locality_ns=_mean(d["ns"] for d in loc if d["kind"] == "neighborhood"))
    else:
        row.update(rewrite_text=rewrite["text"], locality_whole=_mean(d["whole"] for d in loc))
    return row
