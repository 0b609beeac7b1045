"""Parsers for the public knowledge-editing formats; each maps one raw record to EditRequests."""
from __future__ import annotations

from .record import Record
from .schema import EditRequest, Probe

ZSRE_TARGETS = ("alt", "answers")


def _kind(key: str) -> str:
    return key.strip().lower().replace(" ", "_")


def _record_id(rec: Record, *keys: str) -> str:
    for key in keys:
        if rec.has(key):
            return str(rec.raw(key))
    return f"{rec.path.stem}:{rec.index}"


def parse_easyedit(rec: Record, **_) -> list[EditRequest]:
    """EasyEdit / MEND flat CounterFact: prompt, target_new, ground_truth, rephrase_prompt, locality_*."""
    locality = []
    if rec.has("locality_prompt"):
        prompts = rec.texts("locality_prompt")
        answers = rec.raw("locality_ground_truth")
        answers = [answers] if isinstance(answers, str) or len(prompts) == 1 else answers
        if not isinstance(answers, list) or len(answers) != len(prompts):
            rec.fail("locality_ground_truth", f"expected one answer per locality prompt ({len(prompts)})")
        for prompt, ans in zip(prompts, answers):
            locality.append(Probe(prompt, rec.groups("locality_ground_truth", ans), "neighborhood"))
    return [EditRequest(
        id=_record_id(rec, "case_id", "id"),
        prompt=rec.text("prompt"),
        subject=rec.text("subject", ""),
        target_new=rec.text("target_new"),
        ground_truth=rec.answer("ground_truth", []),
        rephrase_prompts=rec.texts("rephrase_prompt"),
        locality=locality,
    )]


def parse_rome(rec: Record, **_) -> list[EditRequest]:
    """ROME CounterFact: requested_rewrite with a '{}' template, paraphrase/neighborhood/attribute prompts."""
    rw = rec.obj("requested_rewrite")
    subject = rw.text("subject")
    new = rw.obj("target_new").text("str")
    true = rw.obj("target_true").text("str")
    locality = [Probe(p, [[true]], "neighborhood") for p in rec.texts("neighborhood_prompts")]
    locality += [Probe(p, [[new]], "attribute") for p in rec.texts("attribute_prompts")]
    return [EditRequest(
        id=_record_id(rec, "case_id"),
        prompt=rw.template("prompt", subject),
        subject=subject,
        target_new=new,
        ground_truth=[[true]],
        rephrase_prompts=rec.texts("paraphrase_prompts"),
        locality=locality,
        relation=rw.text("relation_id", ""),
        generation_prompts=rec.texts("generation_prompts"),
    )]


def parse_zsre(rec: Record, *, zsre_target: str = "alt", **_) -> list[EditRequest]:
    """MEND zsRE.  ``zsre_target="alt"`` edits to the counterfactual ``alt`` (EasyEdit);
    ``"answers"`` edits to ``answers[0]`` (ROME/MEMIT's zsRE protocol)."""
    if zsre_target not in ZSRE_TARGETS:
        raise ValueError(f"zsre_target must be one of {ZSRE_TARGETS}, got {zsre_target!r}")
    answers = rec.answer("answers")
    target = rec.text("alt") if zsre_target == "alt" else answers[0][0]
    return [EditRequest(
        id=_record_id(rec, "case_id", "id"),
        prompt=rec.text("src"),
        subject=rec.text("subject", ""),
        target_new=target,
        ground_truth=answers,
        rephrase_prompts=rec.texts("rephrase"),
        locality=[Probe(rec.text("loc"), rec.answer("loc_ans"), "unrelated")] if rec.has("loc") else [],
        meta={"zsre_target": zsre_target},
    )]


def _probes(rec: Record, key: str) -> list[Probe]:
    """KnowEdit's nested {kind: [{prompt, ground_truth}]} (a bare list is one unnamed kind).

    A probe whose ``ground_truth`` is present but empty (KnowEdit has ``[[]]`` and ``""``)
    cannot be scored: it is dropped and noted in ``rec.dropped``; its record is kept.
    Several alias groups (``[["a", "a2"], ["b"]]``) are read as AND: each group is one
    answer the question asks for (e.g. two children), OR among the aliases inside it; the
    teacher-forced target joins one alias of each group, so both protocols score the same.
    """
    if not rec.has(key):
        return []
    value = rec.raw(key)
    groups = value.items() if isinstance(value, dict) else [(key, value)]
    probes = []
    for kind, items in groups:
        sub = rec.sub({kind: items}, rec.name(key))
        for item in sub.objs(kind):
            prompts = item.texts("prompt", required=True)
            if not prompts:
                item.fail("prompt", "expected a non-empty string")
            answer = item.optional_answer("ground_truth")
            if answer is not None:
                probes += [Probe(p, answer, _kind(kind)) for p in prompts]
    return probes


def parse_knowedit(rec: Record, **_) -> list[EditRequest]:
    """KnowEdit ZsRE / wiki_counterfact / wiki_recent (and WikiBio's text, labels, concept)."""
    if rec.has("text") and rec.has("labels"):
        prompt, target, subject = rec.text("text"), rec.text("labels"), rec.text("concept", "")
    else:
        prompt, target, subject = rec.text("prompt"), rec.text("target_new"), rec.text("subject", "")
    rephrase = rec.texts("rephrase_prompt") + rec.texts("rephrase")
    return [EditRequest(
        id=_record_id(rec, "case_id", "id"),
        prompt=prompt,
        subject=subject,
        target_new=target,
        ground_truth=(rec.optional_answer("ground_truth") or []) if rec.has("ground_truth") else [],
        rephrase_prompts=rephrase,
        locality=_probes(rec, "locality"),
        portability=_probes(rec, "portability"),
    )]


def parse_mquake(rec: Record, **_) -> list[EditRequest]:
    """MQuAKE: one request per requested_rewrite; the case's multi-hop questions are
    portability probes of its last edit (they need every edit of the case applied)."""
    case = _record_id(rec, "case_id")
    rewrites = rec.objs("requested_rewrite", required=True)
    if not rewrites:
        rec.fail("requested_rewrite", "expected at least one rewrite")
    new_answer = rec.answer("new_answer") if rec.has("new_answer") else None
    hops = []
    if new_answer is not None:
        aliases = rec.texts("new_answer_alias")
        answer = [new_answer[0] + aliases] + new_answer[1:]
        hops = [Probe(q, answer, "multi_hop") for q in rec.texts("questions", required=True)]
    requests = []
    for k, rw in enumerate(rewrites):
        subject = rw.text("subject")
        requests.append(EditRequest(
            id=f"{case}:{k}",
            prompt=rw.template("prompt", subject),
            subject=subject,
            target_new=rw.obj("target_new").text("str"),
            ground_truth=[[rw.obj("target_true").text("str")]],
            rephrase_prompts=rw.texts("question"),
            portability=hops if k == len(rewrites) - 1 else [],
            meta={"case": case, "edit_in_case": k, "edits_in_case": len(rewrites)},
        ))
    return requests


def parse_qaedit(rec: Record, **_) -> list[EditRequest]:
    """QAEdit: prompt, target, rephrase, locality [{loc, loc_ans}]."""
    locality = [Probe(item.text("loc"), item.answer("loc_ans"), "unrelated") for item in rec.objs("locality")]
    return [EditRequest(
        id=_record_id(rec, "case_id", "id"),
        prompt=rec.text("prompt"),
        subject=rec.text("subject", ""),
        target_new=rec.text("target"),
        ground_truth=rec.answer("ground_truth", []),
        rephrase_prompts=rec.texts("rephrase"),
        locality=locality,
    )]


def parse_editnb(rec: Record, **_) -> list[EditRequest]:
    """editnb's own format: KnowEdit-shaped (so EasyEdit reads it) plus a few fields of ours."""
    request = parse_knowedit(rec)[0]
    request.rephrase_prompts = rec.texts("rephrase_prompts") or request.rephrase_prompts
    request.relation = rec.text("relation", "")
    request.target_aliases = rec.texts("target_aliases")
    request.meta = {"split": rec.text("split", "")} if rec.has("split") else {}
    if rec.has("seen_template_prompts"):  # dev/test: the train templates, filled with this subject
        request.meta["seen_template_prompts"] = rec.texts("seen_template_prompts")
    return [request]


PARSERS = {
    "editnb": parse_editnb,
    "easyedit": parse_easyedit,
    "rome": parse_rome,
    "zsre": parse_zsre,
    "knowedit": parse_knowedit,
    "mquake": parse_mquake,
    "qaedit": parse_qaedit,
}


def detect_format(data: dict) -> str | None:
    """Guess a record's format from its fields; None when nothing fits."""
    if not isinstance(data, dict):
        return None
    if "editnb_format" in data:
        return "editnb"
    rr = data.get("requested_rewrite")
    if isinstance(rr, list):
        return "mquake"
    if isinstance(rr, dict):
        return "rome"
    if "src" in data and ("alt" in data or "answers" in data):
        return "zsre"
    if "text" in data and "labels" in data:
        return "knowedit"
    if isinstance(data.get("locality"), dict) or isinstance(data.get("portability"), dict):
        return "knowedit"
    if "target" in data and "prompt" in data:
        return "qaedit"
    if "prompt" in data and "target_new" in data:
        return "easyedit"
    return None
