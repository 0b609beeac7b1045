"""The edit playground (notebook 06): plain functions the widgets call, tested without a browser.

A :class:`Playground` holds one model and at most one edit at a time.  ``edit`` applies an
editor to one request and returns, for the prompt, its rephrases and its locality probes, the
teacher-forced and the generated answers before and after the edit; ``restore`` undoes it bit
for bit.  :func:`comparison_html` renders that as a table, :func:`scope_info` gives SERAC's scope
score and nearest memory entry, and :data:`MAIN_HPARAMS` names the settings worth a control.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

from .data import EditRequest, Probe
from .editors import available
from .evaluate import EvalConfig, evaluate, pre_edit
from .experiments import make_editor

# the settings a reader most often changes, per editor (the rest keep their defaults)
MAIN_HPARAMS = {
    "FT-L": ("lr", "steps"), "FT-L-7B": ("lr", "steps"), "FT-M": ("lr", "steps"),
    "ROME": ("v_lr", "v_steps"), "MEMIT": ("v_lr", "v_steps"), "AlphaEdit": ("v_lr", "v_steps"),
    "MEND": (), "GRACE": ("lr", "steps"), "WISE": ("act_ratio", "steps"),
    "SERAC": ("threshold",), "SERAC-oracle": (), "IKE": ("k",), "Fact-in-prompt": (),
}
ROLES = ("rewrite", "rephrase", "locality")


def main_hparams(name: str, run) -> dict:
    """``{setting: default}`` of editor ``name``'s main settings, with the run's budget applied."""
    hp = make_editor(name, run).hparams
    return {key: getattr(hp, key) for key in MAIN_HPARAMS.get(name, ())}


def make_request(prompt: str, target_new: str, *, subject: str, rephrases=(), locality=()) -> EditRequest:
    """A request typed by hand: ``subject`` must occur in ``prompt`` (ROME, MEMIT and AlphaEdit
    edit at its last token); ``locality`` is a list of (prompt, answer) pairs."""
    prompt, target_new, subject = prompt.strip(), target_new.strip(), subject.strip()
    if not prompt or not target_new:
        raise ValueError("a fact needs a prompt and a new target")
    if not subject or subject not in prompt:
        raise ValueError(f"the subject {subject!r} must occur in the prompt {prompt!r}")
    return EditRequest(id="playground", prompt=prompt, subject=subject, target_new=target_new,
                       rephrase_prompts=[r for r in rephrases if r.strip()],
                       locality=[Probe(p, [[a]], "unrelated") for p, a in locality])


def request_from(fact: EditRequest, prompt: str, target_new: str, subject: str) -> EditRequest:
    """The request the app edits: ``fact`` itself; ``fact`` with another new target (its subject,
    rephrasings and locality probes kept) when only the target changed; else a typed request
    with ``fact``'s locality probes (other subjects), so that collateral damage stays visible."""
    if prompt.strip() == fact.prompt and subject.strip() == fact.subject:
        return fact if target_new.strip() == fact.target_new else replace(fact, target_new=target_new.strip(), target_aliases=[])
    typed = make_request(prompt, target_new, subject=subject)
    return replace(typed, locality=list(fact.locality))


@dataclass
class Answer:
    role: str
    prompt: str
    target: str            # the new target (rewrite, rephrase) or the probe's true answer (locality)
    teacher_forced: float  # token accuracy of ``target`` with the gold prefix fed
    generated: str         # the generated answer, as the verdicts cut it
    prefix: bool           # the target is the first thing said
    exact: bool            # the target and nothing else
    agrees: bool | None    # locality: the generated answer is the unedited model's, word for word (None elsewhere)
    agreement: float | None = None  # locality: share of the unedited answer's tokens repeated in place (the metric)


@dataclass
class Comparison:
    editor: str
    request: EditRequest
    before: list[Answer]
    after: list[Answer]
    scope: list[dict] | None = None  # SERAC: each probe prompt's scope score, route and nearest memory entry
    hparams: dict = field(default_factory=dict)


def answers(model, tokenizer, request: EditRequest, config: EvalConfig, pre=None) -> list[Answer]:
    """Each probe's teacher-forced token accuracy and generated answer, in probe order."""
    rows = {r["protocol"]: r for r in evaluate(model, tokenizer, [request], pre=pre, config=config)}
    out = []
    for tf, ar in zip(rows["teacher_forced"]["probes"], rows["autoregressive"]["probes"]):
        if tf["role"] not in ROLES:
            continue
        local = tf["role"] == "locality" and ar.get("whole") is not None
        out.append(Answer(tf["role"], tf["prompt"], tf["target"], float(tf["acc"]), ar["text"], bool(ar["prefix"]),
                          bool(ar["exact"]), bool(ar["whole"]) if local else None, ar["agreement"] if local else None))
    return out


def scope_info(edited, prompts: list[str]) -> list[dict] | None:
    """SERAC's routing of each prompt: its scope score, the threshold (None for SERAC-oracle, which
    routes by the true scope), the route, and the nearest memory entry."""
    module = getattr(edited, "module", None)
    memory = getattr(module, "memory", None)
    if memory is None or not hasattr(memory, "lookup"):
        return None
    from .editors.scope import edit_text

    scores, index = memory.lookup(prompts)
    routes = module.route(prompts)
    return [{"prompt": p, "score": float(s), "threshold": None if module.oracle else module.threshold,
             "routed": "counterfactual model" if r is not None else "base model",
             "nearest": edit_text(memory.requests[i]) if i >= 0 else None}
            for p, s, i, r in zip(prompts, scores.tolist(), index, routes)]


class Playground:
    """One model, at most one edit at a time."""

    def __init__(self, model, tokenizer, run, config: EvalConfig | None = None):
        self.model, self.tokenizer, self.run = model, tokenizer, run
        self.config = config or EvalConfig(max_new_tokens=16, fluency=False, progress=False)
        self.edited = None
        self.prepared = {}  # editors built once (SERAC's and MEND's trained parts load once), by name

    @staticmethod
    def editors() -> list[str]:
        return available()

    def edit(self, name: str, request: EditRequest, **hparams) -> Comparison:
        """Undo any earlier edit, then edit ``request`` with editor ``name`` and compare."""
        self.restore()
        pre = pre_edit(self.model, self.tokenizer, [request], self.config)
        before = answers(self.model, self.tokenizer, request, self.config, pre)
        editor = make_editor(name, self.run, **hparams)
        kept = self.prepared.get(name)
        if kept is not None and kept.hparams == editor.hparams:
            editor = kept  # the same settings: its trained parts are already loaded
        self.prepared[name] = editor
        self.edited = editor.apply(self.model, self.tokenizer, [request])
        after = answers(self.edited, self.tokenizer, request, self.config, pre)
        return Comparison(name, request, before, after, scope_info(self.edited, [a.prompt for a in after]),
                          {k: getattr(editor.hparams, k) for k in MAIN_HPARAMS.get(name, ())})

    def restore(self) -> bool:
        """Undo the current edit (the weights come back bit for bit); False when there was none."""
        if self.edited is None:
            return False
        self.edited.restore()
        self.edited = None
        return True


def _verdict(a: Answer) -> str:
    if a.agrees is not None:
        return "unchanged" if a.agrees else f"changed (token agreement {a.agreement:.2f})"
    return "exact" if a.exact else ("prefix" if a.prefix else "wrong")


def comparison_html(c: Comparison) -> str:
    """Before and after, side by side: one row per probe, teacher-forced and generated."""
    head = ("<tr><th>probe</th><th>prompt</th><th>target (locality: true answer)</th><th>TF acc. before</th>"
            "<th>generated before</th><th>TF acc. after</th><th>generated after</th><th>verdict after</th></tr>")
    body = []
    for b, a in zip(c.before, c.after):
        body.append(f"<tr><td>{b.role}</td><td>{html.escape(b.prompt)}</td><td>{html.escape(b.target)}</td>"
                    f"<td>{b.teacher_forced:.2f}</td><td>{html.escape(b.generated)}</td><td>{a.teacher_forced:.2f}</td>"
                    f"<td class='after'>{html.escape(a.generated)}</td><td>{_verdict(a)}</td></tr>")
    settings = ", ".join(f"{k}={v}" for k, v in c.hparams.items()) or "defaults"
    scope = ""
    if c.scope is not None:
        items = "".join(f"<li>{html.escape(s['prompt'])}: score {s['score']:.3f}, to the {s['routed']}; nearest entry: "
                        f"{html.escape(str(s['nearest']))}</li>" for s in c.scope)
        threshold = "routes by the true scope" if c.scope[0]["threshold"] is None else f"threshold {c.scope[0]['threshold']}"
        scope = f"<p>SERAC's scope scores ({threshold}):</p><ul>{items}</ul>"
    return (f"<p><b>{html.escape(c.editor)}</b> ({settings}): {html.escape(c.request.prompt)} → "
            f"{html.escape(c.request.target_new)}. TF acc.: token accuracy of the target with the gold prefix fed. "
            "Verdicts on the generated answer: exact (the target and nothing else), prefix (the target first, then "
            "more), wrong; locality: unchanged (the unedited model's answer, word for word) or changed, with the share of "
            "the unedited answer's tokens repeated in place (the locality metric).</p>"
            f"<table class='editnb-playground'>{head}{''.join(body)}</table>{scope}")


def comparison_text(c: Comparison) -> str:
    """The same as plain text, for a static view and for tests."""
    lines = [f"{c.editor}: {c.request.prompt!r} -> {c.request.target_new!r}"]
    for b, a in zip(c.before, c.after):
        lines.append(f"  {b.role:9} {b.prompt!r}: TF {b.teacher_forced:.2f} -> {a.teacher_forced:.2f}; "
                     f"generated {b.generated!r} -> {a.generated!r} ({_verdict(a)})")
    for s in c.scope or ():
        lines.append(f"  scope {s['prompt']!r}: {s['score']:.3f} -> {s['routed']}")
    return "\n".join(lines)


def outcome(c: Comparison) -> str:
    """What one edit did, in counts read off the comparison: the rewrite's generated answer before
    and after, how many rephrasings pass the prefix verdict before and after, how many locality
    probes keep the unedited model's answer."""
    def count(side, role, test):
        probes = [a for a in side if a.role == role]
        return f"{sum(map(test, probes))} of {len(probes)}"

    rewrite = next(a for a in c.after if a.role == "rewrite")
    first = next(a for a in c.before if a.role == "rewrite")
    settings = ", ".join(f"{k}={v}" for k, v in c.hparams.items()) or "defaults"
    return (f"{c.editor} ({settings}): the prompt's generated answer went from {first.generated!r} to {rewrite.generated!r} "
            f"({_verdict(rewrite)}); rephrasings saying the new target first: {count(c.before, 'rephrase', lambda a: a.prefix)} "
            f"before, {count(c.after, 'rephrase', lambda a: a.prefix)} after; locality probes answered as before: "
            f"{count(c.after, 'locality', lambda a: bool(a.agrees))}.")


STATIC_TEXT = ("[the edit playground: a widget app that needs a running kernel; section 1 above shows "
               "the same comparison as text]")


def display_app(app, static_text: str = STATIC_TEXT) -> None:
    """Display a widget with ``static_text`` as its plain-text form, so that a static view of the
    notebook (GitHub, nbviewer) shows that sentence instead of the widget's repr."""
    from IPython.display import display

    bundle = app._repr_mimebundle_() if hasattr(app, "_repr_mimebundle_") else {}
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    display({**data, "text/plain": static_text}, raw=True)
