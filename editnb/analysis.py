"""Summaries of evaluation rows: means with intervals, tables, locality definitions, scope-score collections."""
from __future__ import annotations

from collections import defaultdict

from .intervals import estimate, format_p, paired_bootstrap

METRICS = ("rewrite_acc", "rephrase_acc", "locality", "portability", "fluency")


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def summarize(rows, metrics=METRICS, by=("protocol",)) -> dict:
    """Mean of each metric per group (e.g. per protocol, or per editor and protocol)."""
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in by)].append(row)
    return {key: {m: mean(r.get(m) for r in group) for m in metrics} | {"n": len(group)} for key, group in groups.items()}


def format_table(summary: dict, metrics=METRICS, by=("protocol",)) -> str:
    """A fixed-width text table of a summary (rounded to 3 decimals)."""
    head = [*by, *metrics, "n"]
    lines = ["  ".join(f"{h:>14}" for h in head)]
    for key, values in summary.items():
        cells = [f"{str(k):>14}" for k in key]
        cells += [f"{values[m]:>14.3f}" if values[m] is not None else f"{'-':>14}" for m in metrics]
        lines.append("  ".join(cells + [f"{values['n']:>14}"]))
    return "\n".join(lines)


def markdown_table(summary: dict, metrics=METRICS, by=("protocol",)) -> str:
    head = [*by, *metrics, "n"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, values in summary.items():
        cells = [str(k) for k in key] + [f"{values[m]:.3f}" if values[m] is not None else "-" for m in metrics]
        lines.append("| " + " | ".join(cells + [str(values["n"])]) + " |")
    return "\n".join(lines)


def scope_examples(requests) -> dict[str, list[str]]:
    """Inputs of three kinds for a scope classifier: in scope (prompt and rephrases), hard
    negatives (same relation, another subject) and unrelated facts."""
    kinds = {"in scope": [], "hard negative": [], "unrelated": []}
    for r in requests:
        kinds["in scope"] += [r.prompt, *r.rephrase_prompts]
        kinds["hard negative"] += [p.prompt for p in r.locality if p.kind == "neighborhood"]
        kinds["unrelated"] += [p.prompt for p in r.locality if p.kind != "neighborhood"]
    return kinds


def precision_recall(scores_in, scores_out, thresholds):
    """Precision and recall of routing (score > threshold) for in-scope versus out-of-scope scores."""
    curve = []
    for t in thresholds:
        tp = sum(s > t for s in scores_in)
        fp = sum(s > t for s in scores_out)
        curve.append((t, tp / (tp + fp) if tp + fp else 1.0, tp / len(scores_in) if scores_in else 0.0))
    return curve


def locality_probes(rows) -> list[dict]:
    """Every locality probe of every row, with its editor and protocol."""
    return [dict(p, editor=r.get("editor", ""), protocol=r["protocol"], id=r["id"])
            for r in rows for p in r["probes"] if p["role"] == "locality"]


LOCALITY_DEFINITIONS = ("teacher-forced agreement", "generated-token agreement", "whole-string agreement",
                        "P(true) > P(new target)", "accuracy before", "accuracy after", "accuracy after | known before")


def by_request(items, value, key=lambda p: p["id"]) -> dict:
    """{request: the mean of ``value`` over its items} (``None`` values left out; requests are
    the unit we resample)."""
    by_id = defaultdict(list)
    for p in items:
        v = value(p)
        if v is not None:
            by_id[key(p)].append(v)
    return {i: sum(v) / len(v) for i, v in by_id.items()}


def _per_request(probes, value) -> list[float]:
    """One value per request: the mean over its probes."""
    return list(by_request(probes, value).values())


def locality_estimates(rows, by=("editor",)) -> dict:
    """Locality under every definition, per group, each a mean over requests with its interval:
    agreement with the unedited model (teacher-forced argmax tokens, generated tokens, whole
    generated string), the comparison of ROME's CounterFact neighborhood score (after the edit,
    the probe's true answer is still more likely than the edit's new target, teacher-forced mean
    token NLL; neighborhood probes; CounterFact's neighbours all share the edited fact's true
    object, ours each have their own), and accuracy against the true answer
    before and after the edit (generation, headline verdict), the last restricted to facts
    the model knew."""
    out = {}
    probes = locality_probes(rows)
    for key in dict.fromkeys(tuple(p.get(k) for k in by) for p in probes):
        group = [p for p in probes if tuple(p.get(k) for k in by) == key]
        tf = [p for p in group if p["protocol"] == "teacher_forced"]
        ar = [p for p in group if p["protocol"] == "autoregressive"]
        known = [p for p in ar if p["acc_pre"] == 1.0]
        out[key] = {
            "teacher-forced agreement": estimate(_per_request(tf, lambda p: p["agreement"])),
            "generated-token agreement": estimate(_per_request(ar, lambda p: p["agreement"])),
            "whole-string agreement": estimate(_per_request(ar, lambda p: p["whole"])),
            "P(true) > P(new target)": estimate(_per_request([p for p in tf if p["kind"] == "neighborhood"],
                                                                  lambda p: p.get("ns"))),
            "accuracy before": estimate(_per_request(ar, lambda p: p["acc_pre"])),
            "accuracy after": estimate(_per_request(ar, lambda p: p["acc_post"])),
            "accuracy after | known before": estimate(_per_request(known, lambda p: p["acc_post"])),
        }
    return out


def kind_differences(rows, protocol: str = "autoregressive", a: str = "neighborhood", b: str = "unrelated") -> dict:
    """Per editor, agreement with the unedited model on ``b`` probes minus ``a`` probes (each
    request's mean over its probes of that kind), paired over the requests that have both: a
    positive difference means the edit disturbed the ``a`` facts more."""
    out = {}
    probes = [p for p in locality_probes(rows) if p["protocol"] == protocol and p.get("agreement") is not None]
    for editor in dict.fromkeys(p["editor"] for p in probes):
        per_kind = {kind: by_request([p for p in probes if p["editor"] == editor and p.get("kind") == kind],
                                      lambda p: p["agreement"]) for kind in (a, b)}
        if any(i in per_kind[b] for i in per_kind[a]):
            out[editor] = paired_bootstrap(per_kind[a], per_kind[b])
    return out


def locality_definitions(rows, by=("editor",)) -> dict:
    """The means of :func:`locality_estimates` with the number of probes (``n``), for tables and bars."""
    n_probes = defaultdict(int)
    for p in locality_probes(rows):
        if p["protocol"] == "autoregressive":
            n_probes[tuple(p.get(k) for k in by)] += 1
    return {key: {d: e.mean for d, e in values.items()} | {"n": n_probes[key]}
            for key, values in locality_estimates(rows, by).items()}


def interval_errors(estimates: dict) -> dict:
    """{key: {name: (lo, hi)}} from {key: {name: Estimate}}, as the bar plots take them."""
    return {key: {name: (e.lo, e.hi) for name, e in values.items()} for key, values in estimates.items()}


def estimate_table(rows, metrics, by) -> dict:
    """{group: {metric: Estimate}} (Wilson for 0/1 metrics, bootstrap otherwise and for ``*_delta``
    differences), grouped like :func:`summarize`."""
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in by)].append(row)
    return {key: {m: estimate([r.get(m) for r in group], proportion=not m.endswith("_delta")) for m in metrics}
            for key, group in groups.items()}


def format_estimates(table: dict, metrics, by) -> str:
    """A text table of estimates: mean [95% interval] and n for each metric."""
    head = [*by, *metrics]
    body = [[str(k) for k in key] + [f"{values[m]} n={values[m].n}" if values[m].n else "-" for m in metrics]
            for key, values in table.items()]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths)) for line in [head, *body])


def first_divergence(rows) -> dict[str, list[int]]:
    """Per editor, the position of the first generated token that differs from the unedited
    model's, over locality probes whose generation changed; an editor that changed none has an
    empty list (its zero is a result, not a gap)."""
    out = {}
    for p in locality_probes(rows):
        if p["protocol"] == "autoregressive":
            out.setdefault(p["editor"], [])
            if p.get("first_diff") is not None:
                out[p["editor"]].append(p["first_diff"])
    return out


def sequential_bands(rows, metrics=("rewrite_acc", "locality")) -> dict:
    """Sequential-editing rows (with ``n_edits`` and ``ordering``) per editor, metric and number
    of edits: the mean over every evaluated row of every ordering, the lowest and highest
    ordering mean (the band), n (rows pooled over the orderings), the number of orderings, and
    ``interval``: an :func:`estimate` over the distinct requests scored (each request's mean over
    the orderings that scored it), so that a request scored in three orderings counts once."""
    per_order = summarize(rows, metrics, by=("editor", "n_edits", "ordering"))
    pooled = summarize(rows, metrics, by=("editor", "n_edits"))
    out = {}
    for (editor, n_edits), values in sorted(pooled.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        mine = [(r.get("id", i), r) for i, r in enumerate(rows) if (r.get("editor"), r.get("n_edits")) == (editor, n_edits)]
        for m in metrics:
            means = [v[m] for (e, n, _), v in per_order.items() if (e, n) == (editor, n_edits) and v[m] is not None]
            interval = estimate(list(by_request(mine, lambda pair: pair[1].get(m), key=lambda pair: pair[0]).values()))
            cell = out.setdefault((editor, m), {"n_edits": [], "mean": [], "low": [], "high": [], "n": [], "orderings": [],
                                                "interval": []})
            for key, value in (("n_edits", n_edits), ("mean", values[m]), ("low", min(means, default=None)),
                               ("high", max(means, default=None)), ("n", values["n"]), ("orderings", len(means)),
                               ("interval", interval)):
                cell[key].append(value)
    return out


def format_sequential(bands: dict) -> str:
    """A text table of :func:`sequential_bands`: the mean over the distinct requests scored with
    its 95% interval, the range of the ordering means (over rows), the rows and the requests."""
    lines = [f"{'editor':>14} {'metric':>12} {'edits':>6} {'mean [95% over requests]':>26}  {'range over orderings':>20} "
             f"{'rows':>5} {'requests':>8}"]
    for (editor, metric), cell in bands.items():
        for i, n_edits in enumerate(cell["n_edits"]):
            mean_, low, high, interval = cell["mean"][i], cell["low"][i], cell["high"][i], cell["interval"][i]
            spread = f"[{low:.3f}, {high:.3f}] ({cell['orderings'][i]})" if low is not None else "-"
            value = format(interval) if mean_ is not None else "-"
            lines.append(f"{editor:>14} {metric:>12} {n_edits:>6} {value:>26}  {spread:>20} {cell['n'][i]:>5} {interval.n:>8}")
    return "\n".join(lines)


def sequential_differences(rows, first: str, second: str, metrics=("rewrite_acc", "locality")) -> dict:
    """``second`` minus ``first`` at each number of accumulated edits both reached, per metric,
    paired over the requests both scored there (each request's mean over the orderings that
    scored it, as in :func:`sequential_bands`): {(metric, n_edits): PairedDifference}."""
    out = {}
    steps = sorted({r["n_edits"] for r in rows if r.get("editor") == first} & {r["n_edits"] for r in rows if r.get("editor") == second})
    for metric in metrics:
        for n_edits in steps:
            a, b = (by_request([r for r in rows if (r.get("editor"), r["n_edits"]) == (name, n_edits)], lambda r: r.get(metric))
                    for name in (first, second))
            if set(a) & set(b):
                out[(metric, n_edits)] = paired_bootstrap(a, b)
    return out


def format_sequential_differences(diffs: dict, first: str, second: str) -> str:
    """:func:`sequential_differences` as lines, with the sign test, a star where the interval
    excludes 0 and p < 0.05, and the count of tests (not corrected for multiplicity)."""
    lines = [f"{second} - {first}, {metric} after {n_edits} edits: {d}  n={d.n} requests, sign test {format_p(d.p)}"
             + (" *" if d.significant else "") for (metric, n_edits), d in diffs.items()]
    lines.append(f"* the 95% interval excludes 0 and p < 0.05; {len(diffs)} paired tests, not corrected for multiplicity; "
                 "requests of one ordering share one edited model, so they are not independent")
    return "\n".join(lines)


def locality_findings(estimates: dict, bands: dict) -> str:
    """What notebook 04 found, as sentences printed from its tables: each editor's locality by
    teacher-forced and by generated-token agreement, and where sequential editing took each
    editor's generated rewrite success, from the first checkpoint to the editor's last (FT and
    WISE stop earlier than the others: the sentence names the checkpoint), each with its 95%
    interval over the distinct requests scored there and their number."""
    tf, gen = "teacher-forced agreement", "generated-token agreement"
    lines = [f"{editor}: locality {v[tf]} teacher-forced, {v[gen]} by generated tokens (n={v[gen].n} edits)"
             for (editor,), v in estimates.items() if editor != "unedited"]
    for (editor, metric), cell in bands.items():
        if metric == "rewrite_acc" and len(cell["n_edits"]) > 1 and None not in (cell["mean"][0], cell["mean"][-1]):
            first, last = cell["interval"][0], cell["interval"][-1]
            lines.append(f"sequential {editor}: generated rewrite success {first} after {cell['n_edits'][0]} edit(s) "
                         f"(n={first.n} requests), {last} after {cell['n_edits'][-1]} (n={last.n} requests; "
                         f"{cell['orderings'][-1]} orderings pooled)")
    return "\n".join(lines)


def format_label_mask(tokenizer, ids, labels, last: int | None = None) -> str:
    """The last ``last`` tokens of a training example, each with whether the loss counts it
    (a label of -100 does not): how the label mask reads, token by token."""
    pairs = list(zip(ids, labels))[-last:] if last else list(zip(ids, labels))
    tokens = [repr(tokenizer.decode([i])) for i, _ in pairs]
    marks = ["counted" if label != -100 else "-" for _, label in pairs]
    width = [max(len(t), len(m)) for t, m in zip(tokens, marks)]
    return "\n".join(["token:  " + " ".join(t.rjust(w) for t, w in zip(tokens, width)),
                      "label:  " + " ".join(m.rjust(w) for m, w in zip(marks, width))])


def right_then_more(rows, role: str = "rephrase"):
    """The probes of generation rows that pass the prefix verdict but fail the exact one: the
    right answer, followed by more text."""
    for row in rows:
        for probe in row["probes"]:
            if probe["role"] == role and probe.get("prefix") and not probe.get("exact"):
                yield probe


def ended_answers(rows, role: str = "rephrase", k: int = 3) -> list[str]:
    """Up to ``k`` of :func:`right_then_more`'s answers, with their prompts."""
    return [f"{p['prompt']!r} -> {p['text']!r}" for p in right_then_more(rows, role)][:k]


def text_after_answer(rows, role: str = "rephrase") -> dict[str, int]:
    """:func:`right_then_more`'s answers by what follows the target: the target again
    ("repeats the answer") or anything else."""
    from .evaluate.verdicts import words

    counts = {"repeats the answer": 0, "other text": 0}
    for probe in right_then_more(rows, role):
        said, target = [w.norm for w in words(probe["text"])], [w.norm for w in words(probe["target"])]
        again = any(said[i:i + len(target)] == target for i in range(len(target), len(said) - len(target) + 1))
        counts["repeats the answer" if target and again else "other text"] += 1
    return counts


def unscored(rows, requests, by=("editor", "protocol")) -> dict:
    """The groups of ``rows`` (by the keys ``by``) that do not hold exactly one row per request,
    with the number of rows each holds: empty when every request was scored once in every group.
    Notebooks assert it in either mode, where the numbers themselves depend on the mode."""
    want = sorted(r.id for r in requests)
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(r.get(k) for k in by)].append(r["id"])
    return {key: len(ids) for key, ids in groups.items() if sorted(ids) != want}


def verdict_order_violations(rows, roles=("rewrite", "rephrase")) -> list[tuple]:
    """(id, editor, role) of generated answers scored against the order of the verdicts: an exact
    answer is also a prefix answer, and a prefix answer also contains the target, so per request
    ``exact <= prefix <= contains`` (rephrases: the shares of a request's rephrases). ``verdicts``
    builds prefix on contains, so what this checks beyond it is exact <= prefix and that the rows
    carry each answer's verdicts together through batching, caching and averaging."""
    bad = []
    for r in rows:
        for role in roles:
            values = [r.get(f"{role}_{v}") for v in ("exact", "prefix", "contains")]
            if None not in values and not values[0] <= values[1] <= values[2]:
                bad.append((r["id"], r.get("editor"), role))
    return bad
