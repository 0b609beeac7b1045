"""Experiment loops for the notebooks: edit, evaluate, restore; saved per request so runs resume."""
from __future__ import annotations

from .editors import available, get_editor
from .evaluate import evaluate
from .models import model_name
from .progress import progress
from .results import ResultStore, result_key


# Training budgets per mode (CI: minutes on a 2-core CPU; paper: the full configuration).
BUDGETS = {
    "SERAC": {"ci": dict(steps=60, eval_every=20), "paper": dict(steps=300, eval_every=50)},
}


def make_editor(name: str, mode: str, **hparams):
    """An editor with the training budget of the run's mode; notebooks share it so that the
    SERAC trained in notebook 02 is loaded from the cache by notebooks 03 and 04."""
    return get_editor(name, **(BUDGETS.get(name, {}).get(mode, {}) | hparams))


def editor_names() -> list[str]:
    """Every registered editor (an editor added later shows up without changing a notebook)."""
    return available()


def edit_and_evaluate(editor, model, tokenizer, requests, *, pre, config, store: ResultStore | None = None) -> list[dict]:
    """Each request edited alone (apply -> evaluate -> restore), as EasyEdit evaluates single edits.

    With a ``store``, each request's rows are saved atomically under a key of (editor,
    hyperparameters, model, request, evaluation config): an interrupted run resumes
    without recomputing the edits already saved.
    """
    rows = []
    for request in progress(requests, desc=f"{editor.name} edits"):
        key = result_key(editor.name, editor.hparams.to_dict(), model_name(model), request.id, config.to_dict())

        def compute(request=request):
            with editor.apply(model, tokenizer, [request]) as edited:
                return evaluate(edited, tokenizer, [request], pre=pre, config=config)

        rows += store.get_or_compute(key, compute) if store else compute()
    return [dict(row, editor=editor.name) for row in rows]


def sequential_curve(editor, model, tokenizer, requests, checkpoints, *, pre, config) -> list[dict]:
    """Apply edits one after another; after ``n`` of them (for each checkpoint) evaluate every
    request edited so far.  Rows carry ``n_edits``."""
    rows, edited, done = [], None, 0
    try:
        for n in sorted(checkpoints):
            if n > len(requests):
                break
            batch = requests[done:n]
            edited = editor.apply(edited if edited is not None else model, tokenizer, batch, sequential=True)
            done = n
            for row in evaluate(edited, tokenizer, requests[:n], pre=pre, config=config):
                rows.append(dict(row, editor=editor.name, n_edits=n))
    finally:
        if edited is not None:
            edited.restore()
    return rows


def probe_pairs(rows: list[dict]) -> list[dict]:
    """Teacher-forced and autoregressive results of the same probe side by side (edit-target probes)."""
    tf = {(r["editor"], r["id"]): r for r in rows if r["protocol"] == "teacher_forced"}
    pairs = []
    for ar in (r for r in rows if r["protocol"] == "autoregressive"):
        t = tf.get((ar["editor"], ar["id"]))
        if t is None:
            continue
        for pt, pa in zip(t["probes"], ar["probes"]):
            if pt["role"] in ("rewrite", "rephrase"):
                pairs.append({"editor": ar["editor"], "id": ar["id"], "role": pt["role"], "prompt": pt["prompt"],
                              "target": pt["target"], "tf_acc": pt["acc"], "tf_em": pt["exact_match"],
                              "ar_success": pa["success"], "ar_exact": pa["exact"], "text": pa["text"]})
    return pairs


def leak_breakdown(pairs: list[dict]) -> dict[str, dict[str, float]]:
    """Among probes teacher forcing counts fully correct (exact match), the share that generation
    gets wrong (*content* leak: the gold prefix carried the model) and the share it gets right
    only up to alias matching, saying more or never stopping (*length* leak)."""
    out = {}
    for editor in dict.fromkeys(p["editor"] for p in pairs):
        correct = [p for p in pairs if p["editor"] == editor and p["tf_em"] == 1.0]
        n = len(correct) or 1
        content = sum(p["ar_success"] == 0.0 for p in correct) / n
        length = sum(p["ar_success"] == 1.0 and p["ar_exact"] == 0.0 for p in correct) / n
        out[editor] = {"n_tf_correct": len(correct), "content leak": content, "length leak": length,
                       "clean": 1.0 - content - length}
    return out


def by_target_length(pairs: list[dict], tokenizer, bins=(1, 2, 3, 4)) -> dict:
    """Mean teacher-forced accuracy and autoregressive success by the target's length in tokens."""
    from .tokenization import encode_prompt_target

    table = {}
    for p in pairs:
        n = len(encode_prompt_target(tokenizer, p["prompt"], p["target"]).target_ids)
        bucket = next((b for b in bins if n <= b), bins[-1])
        label = f"{bucket}+" if bucket == bins[-1] else str(bucket)
        cell = table.setdefault((p["editor"], label), {"tf": [], "ar": []})
        cell["tf"].append(p["tf_acc"])
        cell["ar"].append(p["ar_success"])
    return {k: {"teacher_forced": sum(v["tf"]) / len(v["tf"]), "autoregressive": sum(v["ar"]) / len(v["ar"]), "n": len(v["tf"])}
            for k, v in sorted(table.items())}
