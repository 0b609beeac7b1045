"""The edit playground (notebook 06): plain functions the widgets call, tested without a browser.

A :class:`Playground` holds one model and at most one edit at a time.  ``edit`` applies an
editor to one request and returns, for the prompt, its rephrases and its locality probes, the
teacher-forced and the generated answers before and after the edit; ``restore`` undoes it bit
for bit.  :func:`comparison_html` renders that as a table, :func:`scope_info` gives SERAC's scope
score and nearest memory entry, and :data:`MAIN_HPARAMS` names the settings worth a control.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

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


def make_request(prompt: str, target_new: str, *, subject: str = "", rephrases=(), locality=()) -> EditRequest:
    """A request typed by hand: ``locality`` is a list of (prompt, answer) pairs."""
    prompt, target_new = prompt.strip(), target_new.strip()
    if not prompt or not target_new:
        raise ValueError("a fact needs a prompt and a new target")
    return EditRequest(id="playground", prompt=prompt, subject=subject.strip() or prompt.split()[-1], target_new=target_new,
                       rephrase_prompts=[r for r in rephrases if r.strip()],
                       locality=[Probe(p, [[a]], "unrelated") for p, a in locality])


@dataclass
class Answer:
    role: str
    prompt: str
    target: str
    teacher_forced: float  # token accuracy of the target
    generated: str         # the generated answer, as the verdicts cut it
    success: bool          # the prefix verdict (rewrite, rephrase) or agreement with the unedited model (locality)


@dataclass
class Comparison:
    editor: str
    request: EditRequest
    before: list[Answer]
    after: list[Answer]
    scope: dict | None = None  # SERAC: scope score and nearest memory entry for the prompt
    hparams: dict = field(default_factory=dict)


def answers(model, tokenizer, request: EditRequest, config: EvalConfig, pre=None) -> list[Answer]:
    """Each probe's teacher-forced token accuracy and generated answer, in probe order."""
    rows = {r["protocol"]: r for r in evaluate(model, tokenizer, [request], pre=pre, config=config)}
    out = []
    for tf, ar in zip(rows["teacher_forced"]["probes"], rows["autoregressive"]["probes"]):
        if tf["role"] not in ROLES:
            continue
        ok = ar["agreement"] if tf["role"] == "locality" else ar["prefix"]
        out.append(Answer(tf["role"], tf["prompt"], tf["target"], float(tf["acc"]), ar["text"], bool(ok)))
    return out


def scope_info(edited, prompt: str) -> dict | None:
    """SERAC's routing of ``prompt``: its scope score, the threshold, and the nearest memory entry."""
    module = getattr(edited, "module", None)
    memory = getattr(module, "memory", None)
    if memory is None or not hasattr(memory, "lookup"):
        return None
    from .editors.scope import edit_text

    scores, index = memory.lookup([prompt])
    nearest = memory.requests[index[0]] if index[0] >= 0 else None
    return {"score": float(scores[0]), "threshold": module.threshold, "nearest": edit_text(nearest) if nearest else None}


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
        editor = self.prepared.get(name)
        if editor is None or any(getattr(editor.hparams, k) != v for k, v in hparams.items()):
            editor = self.prepared[name] = make_editor(name, self.run, **hparams)
        self.edited = editor.apply(self.model, self.tokenizer, [request])
        after = answers(self.edited, self.tokenizer, request, self.config, pre)
        return Comparison(name, request, before, after, scope_info(self.edited, request.prompt),
                          {k: getattr(editor.hparams, k) for k in MAIN_HPARAMS.get(name, ())})

    def restore(self) -> bool:
        """Undo the current edit (the weights come back bit for bit); False when there was none."""
        if self.edited is None:
            return False
        self.edited.restore()
        self.edited = None
        return True


def comparison_html(c: Comparison) -> str:
    """Before and after, side by side: one row per probe, teacher-forced and generated."""
    head = ("<tr><th>probe</th><th>prompt</th><th>target</th><th>TF acc. before</th><th>generated before</th>"
            "<th>TF acc. after</th><th>generated after</th></tr>")
    body = []
    for b, a in zip(c.before, c.after):
        mark = "✓" if a.success else "✗"
        body.append(f"<tr><td>{b.role}</td><td>{html.escape(b.prompt)}</td><td>{html.escape(b.target)}</td>"
                    f"<td>{b.teacher_forced:.2f}</td><td>{html.escape(b.generated)}</td><td>{a.teacher_forced:.2f}</td>"
                    f"<td class='after'>{mark} {html.escape(a.generated)}</td></tr>")
    settings = ", ".join(f"{k}={v}" for k, v in c.hparams.items()) or "defaults"
    scope = ""
    if c.scope is not None:
        scope = (f"<p>SERAC scope score of the prompt: {c.scope['score']:.3f} (threshold {c.scope['threshold']}); "
                 f"nearest memory entry: {html.escape(str(c.scope['nearest']))}</p>")
    return (f"<p><b>{html.escape(c.editor)}</b> ({settings}): {html.escape(c.request.prompt)} → "
            f"{html.escape(c.request.target_new)}. ✓: the generated answer starts with the target (locality: it "
            f"matches the unedited model's).</p>{scope}<table class='editnb-playground'>{head}{''.join(body)}</table>")


def comparison_text(c: Comparison) -> str:
    """The same as plain text, for a static view and for tests."""
    lines = [f"{c.editor}: {c.request.prompt!r} -> {c.request.target_new!r}"]
    for b, a in zip(c.before, c.after):
        lines.append(f"  {b.role:9} {b.prompt!r}: TF {b.teacher_forced:.2f} -> {a.teacher_forced:.2f}; "
                     f"generated {b.generated!r} -> {a.generated!r}" + (" (ok)" if a.success else ""))
    if c.scope is not None:
        lines.append(f"  scope score {c.scope['score']:.3f} (threshold {c.scope['threshold']}); nearest entry {c.scope['nearest']!r}")
    return "\n".join(lines)


STATIC_TEXT = ("[the edit playground: a widget app that needs a running kernel; section 1 above shows "
               "the same comparison as text]")


def display_app(app, static_text: str = STATIC_TEXT) -> None:
    """Display a widget with ``static_text`` as its plain-text form, so that a static view of the
    notebook (GitHub, nbviewer) shows that sentence instead of the widget's repr."""
    from IPython.display import display

    bundle = app._repr_mimebundle_() if hasattr(app, "_repr_mimebundle_") else {}
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    display({**data, "text/plain": static_text}, raw=True)
