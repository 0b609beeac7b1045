"""Experiment loops for the notebooks: edit, evaluate, restore; saved per request so runs resume."""
from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

from .editors import Editor, available, get_editor
from .evaluate import PROTOCOLS, EvalConfig, Generation, Outputs, evaluate
from .evaluate import pre_edit as compute_pre_edit
from .evaluate.core import pre_edit_keys
from .evaluate.teacher_forced import TeacherForced
from .models import SMOLLM2_NAME, model_name
from .paths import data_dir
from .progress import progress
from .results import ResultStore, result_key
from .tokenization import encode_prompt_target


# Training budgets per mode (CI: minutes on a 2-core CPU; paper: the full configuration).
# SERAC's paper budget: a 300-step run kept its best dev state, step 250 (dev edit NLL 0.123
# against 0.126 at step 300); training has no schedule, so 250 steps give the same weights.
# Locate-then-edit editors in CI mode: C over 10k tokens (not 100k) and 2 self-written prefixes
# of 5 tokens (not 5 each of 5 and 10), so that every notebook runs in minutes; paper mode
# uses the defaults.
_LOCATE_CI = dict(stats_tokens=10_000, context_lengths=(5,), contexts_per_length=2)
_SERAC = {"ci": dict(steps=60, eval_every=20), "paper": dict(steps=250, eval_every=50)}
BUDGETS = {
    "SERAC": _SERAC, "SERAC-oracle": _SERAC,  # one training serves both (the oracle changes only the routing)
    **{name: {"ci": _LOCATE_CI, "paper": {}} for name in ("ROME", "MEMIT", "AlphaEdit")},
    "WISE": {"ci": {"steps": 20}, "paper": {}},
    # MEND's editor network: a short training in CI mode (the mechanics, not the numbers)
    "MEND": {"ci": {"steps": 20, "eval_every": 10}, "paper": {}},
    "GRACE": {"ci": {"steps": 20}, "paper": {}},
    # CI mode retrieves IKE's demonstrations from the dev split's few hundred (embedding the
    # train split's is the slow part of a cold CI run); paper mode from the train split
    "IKE": {"ci": {"pool": "dev"}, "paper": {}},
}

# The locate-then-edit family (notebook 05).  Notebooks 03 and 04 score it with the others on
# the same edits; its sequential curves (MEMIT against AlphaEdit) are drawn in notebook 05.
LOCATE_EDITORS = ("ROME", "MEMIT", "AlphaEdit")

# Edits evaluated one at a time by notebooks 02-05: the same requests, so that the store lets
# each notebook reuse the others' edits.  Paper mode: every test request (None: all 252 of the
# embedded test split, or every record of a dataset given to notebook 03).
N_REQUESTS = {"ci": 4, "paper": None}

# Sequential editing: accumulated edits at which an editor is evaluated, in 3 orders of the
# edits.  An FT edit is an optimisation run alone (edits on top of edits cannot be made side by
# side), so in paper mode FT (and WISE, trained the same way) stops at 50 edits; SERAC's edits
# are memory writes and go on to 200.
SEQUENTIAL = {"ci": (1, 2), "paper": (1, 10, 50, 200)}
SEQUENTIAL_CAP = {"paper": {"FT-L": 50, "FT-L-7B": 50, "FT-M": 50, "WISE": 50}}


# Bump when evaluate() changes what a row holds, so that stored rows of older code are not reused.
ROWS_VERSION = 3


def eval_config(mode: str, **overrides) -> EvalConfig:
    """The evaluation settings notebooks 02-04 share (so the result store serves all three):
    greedy generation scored by the prefix verdict; fluency (n-gram entropy) in paper mode."""
    return EvalConfig(**({"fluency": mode == "paper"} | overrides))


def pre_edit(model, tokenizer, requests, config: EvalConfig, store: ResultStore | None = None) -> Outputs:
    """:func:`editnb.evaluate.pre_edit`, saved per request in ``store`` (notebooks 02-04 and the
    sequential curves ask for the same requests' unedited outputs; each is computed once)."""
    if store is None:
        return compute_pre_edit(model, tokenizer, requests, config)
    name, config_dict = model_name(model), config.raw_outputs()  # shared by configs that differ only in fluency
    keys = {r.id: result_key("pre_edit", name, r.to_dict(), config_dict, ROWS_VERSION) for r in requests}
    saved = {r.id: store.get(keys[r.id]) for r in requests}
    missing = [r for r in requests if saved[r.id] is None]
    if missing:
        fresh = compute_pre_edit(model, tokenizer, missing, config)
        for r in missing:
            own = pre_edit_keys(r)
            saved[r.id] = {"tf": [[list(k[1:]), dataclasses.asdict(fresh.tf[k])] for k in own["tf"]],
                           "ar": [[list(k[1:]), dataclasses.asdict(fresh.ar[k])] for k in own["ar"]]}
            store.put(keys[r.id], saved[r.id])
    out = Outputs(config=config)
    for r in requests:
        for key, value in saved[r.id]["tf"]:
            out.tf[(None, *key)] = TeacherForced(**(value | {"argmax": tuple(value["argmax"])}))
        for key, value in saved[r.id]["ar"]:
            out.ar[(None, *key)] = Generation(value["text"], tuple(value["token_ids"]), tuple(value["ends"]))
    return out


def seen_template_requests(requests) -> list:
    """The same edits asked with the templates SERAC was trained on: each request's rephrases
    replaced by its ``seen_template_prompts`` (embedded dev and test records carry them).  Only
    the rewrite and rephrase probes are kept (no locality or portability: the comparison is
    about the rephrasings, and the held-out rows already score the rest)."""
    out = []
    for r in requests:
        seen = r.meta.get("seen_template_prompts")
        if not seen:
            raise ValueError(f"request {r.id} has no seen_template_prompts (only the embedded dev and test splits do)")
        out.append(dataclasses.replace(r, id=f"{r.id}@seen", rephrase_prompts=list(seen), locality=[], portability=[]))
    return out


def sequential_checkpoints(name: str, mode: str) -> tuple[int, ...]:
    """The checkpoints of ``SEQUENTIAL`` up to the editor's cap in this mode (none for
    :data:`LOCATE_EDITORS`: notebook 05 draws their sequential curves)."""
    if name in LOCATE_EDITORS:
        return ()
    cap = SEQUENTIAL_CAP.get(mode, {}).get(name)
    return tuple(n for n in SEQUENTIAL[mode] if cap is None or n <= cap)


def hparams_file(name: str, model_name: str | None = None) -> Path | None:
    """The per-model hyperparameter file of editor ``name``, as EasyEdit's ``hparams/<ALG>/<model>.yaml``:
    ``<folder>/<name>/<model>.yaml`` (``model``: the folder name of :func:`editnb.nb.model_folder`,
    SmolLM2-135M-Instruct for the default model), looked up first in the folder ``EDITNB_HPARAMS``
    names (your own settings, laid out the same way), then in ``data/hparams``; None when there is none."""
    from .nb import model_folder

    folders = [Path(os.environ["EDITNB_HPARAMS"])] if os.environ.get("EDITNB_HPARAMS") else []
    file = f"{model_folder(model_name) or SMOLLM2_NAME}.yaml"
    return next((f / name / file for f in [*folders, data_dir() / "hparams"] if (f / name / file).is_file()), None)


def hparams_note(names, model_name: str | None = None) -> str:
    """Which editors read a per-model file for ``model_name`` and which keep the defaults (tuned on
    SmolLM2-135M on the dev split, layers chosen by depth fraction): one line to print."""
    files = {name: hparams_file(name, model_name) for name in names}
    found = [f"{n} ({f.relative_to(data_dir().parent) if f.is_relative_to(data_dir().parent) else f})" for n, f in files.items() if f]
    missing = [n for n, f in files.items() if not f]
    model = model_name or SMOLLM2_NAME
    return (f"hyperparameters for {model}: " + (f"from files: {', '.join(found)}; " if found else "")
            + (f"defaults (tuned on SmolLM2-135M, layers by depth fraction): {', '.join(missing)}" if missing else "all from files"))


def make_editor(name: str, run, **hparams):
    """An editor with the training budget of the run's mode; notebooks share it so that the
    SERAC trained in notebook 02 is loaded from the cache by notebooks 03 and 04.

    ``run`` is the mode ("ci" or "paper") or a notebook's config (``nb.setup``), whose model's
    hyperparameter file (:func:`hparams_file`) is read first.  Precedence: the editor's defaults,
    then the model's file, then the mode's budget, then ``hparams``."""
    mode, model_name = (run, None) if isinstance(run, str) else (run.mode, run.model_name)
    file = hparams_file(name, model_name)
    return get_editor(name, hparams_file=file, **(BUDGETS.get(name, {}).get(mode, {}) | hparams))


# Editors only paper mode runs: FT-L with EasyEdit's untuned 7B setting, the reference row of
# the dev sweep (CI mode checks FT-L's code through the tuned FT-L and the unit tests).
PAPER_ONLY = ("FT-L-7B",)


def editor_names(mode: str | None = None) -> list[str]:
    """The registered editors notebooks 03 and 04 run (an editor added later shows up without
    changing a notebook); in CI mode without :data:`PAPER_ONLY`."""
    return [name for name in available() if mode != "ci" or name not in PAPER_ONLY]


# Single edits made side by side by apply_each (each row sees its own edit only): edits per group.
PARALLEL = 32


def edit_and_evaluate(editor, model, tokenizer, requests, *, pre, config, store: ResultStore | None = None,
                      parallel: int | None = PARALLEL) -> list[dict]:
    """Each request edited alone and evaluated on its own edit, as EasyEdit evaluates single edits.

    With ``parallel`` (and an editor that has ``apply_each``), ``parallel`` single edits are
    made at once and evaluated in the same batches (``tests/test_each.py`` checks that this
    gives the rows of apply -> evaluate -> restore one request at a time); ``parallel=None``
    runs that loop instead.

    ``config`` and ``pre`` may be lists of the same length (e.g. one per generation context):
    each edit is then made once and evaluated under every configuration before it is undone.
    With a ``store``, each request's rows are saved atomically per configuration, under a key
    of (editor, hyperparameters, model, request content, evaluation config): an interrupted run
    resumes without recomputing what is saved, and a request is edited only when some of its
    configurations are missing.  The key holds the request's whole content and ``ROWS_VERSION``,
    so a reworded dataset or a change of what a row holds never reuses stale rows.  Rows carry ``editor`` and ``context``.
    """
    configs, pres = (list(config), list(pre)) if isinstance(config, (list, tuple)) else ([config], [pre])
    if len(configs) != len(pres):
        raise ValueError(f"{len(configs)} evaluation configs but {len(pres)} pre-edit outputs")
    hparams, name, config_dicts = editor.hparams.to_dict(), model_name(model), [c.to_dict() for c in configs]
    keys, saved = {}, {}
    for request in requests:
        content = request.to_dict()  # the content, not only the id: a reworded dataset must not reuse old rows
        keys[request.id] = [result_key(editor.name, hparams, name, content, c, ROWS_VERSION) for c in config_dicts]
        saved[request.id] = [store.get(key) if store else None for key in keys[request.id]]
    missing = [r for r in requests if any(out is None for out in saved[r.id])]
    each = parallel is not None and type(editor).apply_each is not Editor.apply_each
    groups = [missing[i:i + parallel] for i in range(0, len(missing), parallel)] if each else [[r] for r in missing]
    for group in progress(groups, desc=f"{editor.name} edits" + (f" ({parallel} at once)" if each else "")):
        with (editor.apply_each if each else editor.apply)(model, tokenizer, group) as edited:
            for i, (c, p) in enumerate(zip(configs, pres)):
                todo = [r for r in group if saved[r.id][i] is None]
                by_id = {}
                for row in evaluate(edited, tokenizer, todo, pre=p, config=c) if todo else []:
                    by_id.setdefault(row["id"], []).append(row)
                for r in todo:
                    saved[r.id][i] = by_id[r.id]
                    if store:
                        store.put(keys[r.id][i], by_id[r.id])
    return [dict(row, editor=editor.name, context=c.context)
            for r in requests for c, out in zip(configs, saved[r.id]) for row in out]


# SERAC before and after issue 16 (notebook 03's context section), one change at a time: the
# original (the counterfactual model trained on the target tokens only, routing on the whole
# input), each change alone (the answer ends with EOS; routing on the question read out of a QA
# or chat frame), and both (the default).  Two trainings serve the four: routing is read at
# inference only.
SERAC_VERSIONS = {"SERAC original": dict(end="none", unframe=False), "SERAC + end": dict(unframe=False),
                  "SERAC + routing": dict(end="none"), "SERAC (both)": {}}


def serac_routing(editors: dict, model, tokenizer, requests, contexts=None) -> list[dict]:
    """Where SERAC sends each request's probes in every context, its edit alone in memory: one
    row per (editor label, context, request) with the share of its in-scope probes (prompt and
    rephrasings) and of its locality probes routed to the counterfactual model."""
    from .framing import contexts_for, in_context
    from .tokenization import encode

    rows = []
    for label, editor in editors.items():
        for r in requests:
            probes = [(True, p) for p in [r.prompt, *r.rephrase_prompts]] + [(False, p.prompt) for p in r.locality]
            with editor.apply(model, tokenizer, [r]) as edited:
                serac = edited.module
                for context in contexts or contexts_for(tokenizer):
                    routes = serac.route([serac.question(encode(tokenizer, *in_context(tokenizer, p, context))) for _, p in probes])
                    sent = [(scope, route is not None) for (scope, _), route in zip(probes, routes)]
                    share = lambda want: (sum(s for k, s in sent if k == want) / max(1, sum(k == want for k, _ in sent)))
                    rows.append({"editor": label, "context": context, "id": r.id,
                                 "routed_in_scope": share(True), "routed_locality": share(False)})
    return rows


def context_rows(editors: dict, model, tokenizer, requests, mode: str, store: ResultStore | None = None) -> list[dict]:
    """Generation rows of each editor (``{label: editor}``) on ``requests`` asked in every context
    the tokenizer has (plain prompt, QA instruction and, where it has a chat template, the chat
    template): each edit is made once and evaluated in all of them.  Rows carry ``editor`` (the
    label) and ``context``."""
    from .framing import contexts_for

    configs = [eval_config(mode, context=context) for context in contexts_for(tokenizer)]
    pres = [pre_edit(model, tokenizer, requests, c, store) for c in configs]
    rows = []
    for label, editor in editors.items():
        out = edit_and_evaluate(editor, model, tokenizer, requests, pre=pres, config=configs, store=store)
        rows += [dict(r, editor=label) for r in out if r["protocol"] == "autoregressive"]
    return rows


def evenly_spaced(items: list, k: int | None) -> list:
    """At most ``k`` items spread evenly over ``items``, the first and the last included."""
    if k is None or len(items) <= k:
        return list(items)
    if k == 1:
        return [items[0]]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def sequential_sample(requests, checkpoints, evaluate_at_most: int | None = None) -> list:
    """Every request :func:`sequential_curve` evaluates at some checkpoint (for its pre-edit outputs)."""
    picked = {r.id: r for n in checkpoints for r in evenly_spaced(requests[:n], evaluate_at_most)}
    return list(picked.values())


def orderings(requests, k: int, seed: int = 0) -> list[list]:
    """``k`` random orders of ``requests`` (ordering i shuffled with seed ``seed + i``)."""
    return [random.Random(seed + i).sample(list(requests), len(requests)) for i in range(k)]


def sequential_curve(editor, model, tokenizer, requests, checkpoints, *, config, pre=None,
                     evaluate_at_most: int | None = None, protocols=PROTOCOLS) -> list[dict]:
    """Apply edits one after another; after ``n`` of them (for each checkpoint) evaluate the
    requests edited so far (at most ``evaluate_at_most`` of them, spread evenly from the first
    edit to the latest).  Without ``pre``, the unedited outputs of those requests are computed
    first.  Rows carry ``n_edits``."""
    checkpoints = [n for n in sorted(checkpoints) if n <= len(requests)]
    if pre is None:
        pre = compute_pre_edit(model, tokenizer, sequential_sample(requests, checkpoints, evaluate_at_most), config)
    rows, edited, done = [], None, 0
    try:
        for n in checkpoints:
            batch = requests[done:n]
            edited = editor.apply(edited if edited is not None else model, tokenizer, batch, sequential=True)
            done = n
            for row in evaluate(edited, tokenizer, evenly_spaced(requests[:n], evaluate_at_most), pre=pre, config=config,
                                protocols=protocols):
                rows.append(dict(row, editor=editor.name, n_edits=n))
    finally:
        if edited is not None:
            edited.restore()
    return rows


def sequential_curves(editor, model, tokenizer, orders, checkpoints, *, config, pre=None,
                      evaluate_at_most: int | None = None, protocols=PROTOCOLS, store: ResultStore | None = None) -> list[dict]:
    """:func:`sequential_curve` once per order of the edits (from :func:`orderings`); rows carry
    ``ordering``, the order's index.  An editor with ``apply_streams`` runs the orders side by
    side (one stream each, evaluated in shared batches; ``tests/test_each.py`` checks it against
    the orders one after another).

    With a ``store``, the editor's rows over all the orders are saved atomically once they are
    complete, under a key of (editor, hyperparameters, model, every order's requests with their
    content, checkpoints, evaluation config, protocols, ``ROWS_VERSION``): a paper run that
    was interrupted redoes at most the editor it was in."""
    key = None
    if store is not None:
        key = result_key("sequential", editor.name, editor.hparams.to_dict(), model_name(model),
                         [[r.to_dict() for r in order] for order in orders], sorted(checkpoints), config.to_dict(),
                         evaluate_at_most, list(protocols), ROWS_VERSION)
        saved = store.get(key)
        if saved is not None:
            return saved
    rows = _curves(editor, model, tokenizer, orders, checkpoints, config=config, pre=pre,
                   evaluate_at_most=evaluate_at_most, protocols=protocols)
    if store is not None:
        store.put(key, rows)
        rows = store.get(key)  # the rows as a later run reads them back (JSON), so both runs print the same
    return rows


def context_truncation(editor, tokenizer, orders, checkpoints) -> str:
    """For an editor whose memory is a bounded context (IKE, Fact-in-prompt; those with
    ``left_out``): at each checkpoint, how many of the facts edited so far its context leaves
    out, lowest and highest over the orders, as one line; "" for any other editor or when every
    fact fits.  Computed from the orders themselves, so it is printed when the curves are read
    back from the store, where the editor's own warnings are not."""
    if not hasattr(editor, "left_out"):
        return ""
    parts = []
    for n in sorted(checkpoints):
        counts = [editor.left_out(tokenizer, list(order[:n])) for order in orders if len(order) >= n]
        if counts and max(counts):
            low, high = min(counts), max(counts)
            parts.append(f"after {n} edits {low if low == high else f'{low}-{high}'} of {n}")
    if not parts:
        return ""
    return (f"{editor.name}: facts left out of its {editor.hparams.budget}-token context "
            f"({len(orders)} orderings): " + "; ".join(parts) + "\n")


def _curves(editor, model, tokenizer, orders, checkpoints, *, config, pre, evaluate_at_most, protocols) -> list[dict]:
    if type(editor).apply_streams is Editor.apply_streams:
        return [dict(row, ordering=i) for i, order in enumerate(orders)
                for row in sequential_curve(editor, model, tokenizer, order, checkpoints, config=config, pre=pre,
                                            evaluate_at_most=evaluate_at_most, protocols=protocols)]
    # the same request is in every order: tag it with its order, so that it names one stream
    tagged = [[dataclasses.replace(r, id=f"{r.id}@{i}") for r in order] for i, order in enumerate(orders)]
    checkpoints = [n for n in sorted(checkpoints) if n <= min(len(order) for order in orders)]
    if pre is None:
        pre = compute_pre_edit(model, tokenizer, [r for order in orders for r in sequential_sample(order, checkpoints, evaluate_at_most)], config)
    rows, edited, done = [], None, 0
    try:
        for n in checkpoints:
            edited = editor.apply_streams(edited if edited is not None else model, tokenizer, [order[done:n] for order in tagged])
            done = n
            scored = [r for order in tagged for r in evenly_spaced(order[:n], evaluate_at_most)]
            for row in evaluate(edited, tokenizer, scored, pre=pre, config=config, protocols=protocols):
                request_id, ordering = row["id"].rsplit("@", 1)
                rows.append(dict(row, id=request_id, editor=editor.name, n_edits=n, ordering=int(ordering)))
    finally:
        if edited is not None:
            edited.restore()
    return sorted(rows, key=lambda row: row["ordering"])


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
                              "ar_success": pa["success"], "ar_prefix": pa["prefix"], "ar_exact": pa["exact"],
                              "text": pa["text"]})
    return pairs


def by_target_length(pairs: list[dict], tokenizer, bins=(1, 2, 3, 4)) -> dict:
    """Per editor and target length in tokens: mean teacher-forced token accuracy, generation
    success (headline verdict) and exact verdict, with the number of probes."""
    table = {}
    for p in pairs:
        n = len(encode_prompt_target(tokenizer, p["prompt"], p["target"]).target_ids)
        bucket = next((b for b in bins if n <= b), bins[-1])
        label = f"{bucket}+" if bucket == bins[-1] else str(bucket)
        cell = table.setdefault((p["editor"], label), {"tf": [], "ar": [], "exact": []})
        cell["tf"].append(p["tf_acc"])
        cell["ar"].append(p["ar_success"])
        cell["exact"].append(p["ar_exact"])
    return {k: {"teacher_forced": sum(v["tf"]) / len(v["tf"]), "autoregressive": sum(v["ar"]) / len(v["ar"]),
                "exact": sum(v["exact"]) / len(v["exact"]), "n": len(v["tf"])}
            for k, v in sorted(table.items())}
