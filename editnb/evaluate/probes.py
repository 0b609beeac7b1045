"""Which probes a request asks, and the per-probe metrics built from raw scores."""
from __future__ import annotations

from dataclasses import dataclass

from ..data import EditRequest, matches, normalize_answer, starts_with
from ..data.answers import alias_groups, primary
from .generation import Generation
from .teacher_forced import TeacherForced


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


def exact_text_match(text: str, answer) -> bool:
    """The whole continuation is the answer (an alias of it), nothing more."""
    groups = alias_groups(answer)
    norm = normalize_answer(text)
    if len(groups) == 1:
        return any(norm == normalize_answer(a) for a in groups[0])
    return norm == normalize_answer(primary(groups))


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


def tf_detail(spec: ProbeSpec, post: TeacherForced, pre: TeacherForced | None) -> dict:
    detail = {"role": spec.role, "kind": spec.kind, "prompt": spec.prompt, "target": spec.target,
              "acc": post.acc, "exact_match": post.exact_match, "nll": post.nll, "prob": post.prob}
    if spec.role == "locality":
        detail["acc_post"] = post.acc
        detail["acc_pre"] = pre.acc if pre else None
        detail["agreement"] = token_agreement(pre.argmax, post.argmax) if pre else None
    return detail


def ar_detail(spec: ProbeSpec, post: Generation, pre: Generation | None) -> dict:
    success = matches(post.text, spec.answer)
    detail = {"role": spec.role, "kind": spec.kind, "prompt": spec.prompt, "target": spec.target,
              "text": post.text, "success": float(success), "prefix": float(starts_with(post.text, spec.answer)),
              "exact": float(exact_text_match(post.text, spec.answer)), "n_tokens": len(post.token_ids)}
    if spec.role == "locality":
        detail["acc_post"] = float(success)
        detail["acc_pre"] = float(matches(pre.text, spec.answer)) if pre else None
        detail["text_pre"] = pre.text if pre else None
        detail["agreement"] = token_agreement(pre.token_ids, post.token_ids) if pre else None
        detail["whole"] = float(pre.text == post.text) if pre else None
        detail["first_diff"] = first_difference(pre.token_ids, post.token_ids) if pre else None
    return detail


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def summarize(request: EditRequest, protocol: str, details: list[dict], fluency: float | None) -> dict:
    """One result row: EasyEdit's metric names, per-request means over probes, details kept."""
    main = "acc" if protocol == "teacher_forced" else "success"
    by_role = {role: [d for d in details if d["role"] == role] for role in ("rewrite", "rephrase", "portability", "locality")}
    loc = by_role["locality"]
    row = {
        "id": request.id, "protocol": protocol, "relation": request.relation,
        "rewrite_acc": by_role["rewrite"][0][main],
        "rephrase_acc": _mean(d[main] for d in by_role["rephrase"]),
        "locality": _mean(d["agreement"] for d in loc),
        "portability": _mean(d[main] for d in by_role["portability"]),
        "fluency": fluency,
        "locality_acc_pre": _mean(d["acc_pre"] for d in loc),
        "locality_acc_post": _mean(d["acc_post"] for d in loc),
        "probes": details,
    }
    rewrite = by_role["rewrite"][0]
    if protocol == "teacher_forced":
        row.update(rewrite_em=rewrite["exact_match"], rewrite_nll=rewrite["nll"], rewrite_prob=rewrite["prob"])
    else:
        row.update(rewrite_prefix=rewrite["prefix"], rewrite_exact=rewrite["exact"], rewrite_text=rewrite["text"],
                   locality_whole=_mean(d["whole"] for d in loc))
    return row
