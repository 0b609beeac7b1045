"""Where teacher-forced success goes under generation: the Mirage decomposition, the paired
teacher-forced-versus-generation table and the editor-versus-editor table, all with n and intervals.

Every function takes the rows of :func:`editnb.evaluate.evaluate` (with an ``editor`` key)
and compares conditions on the *same* requests, so differences use a paired bootstrap.
"""
from __future__ import annotations

from itertools import combinations

from .analysis import by_request
from .intervals import MIN_BOOTSTRAP_N, Estimate, PairedDifference, estimate, format_p, p_value, paired_bootstrap


# One factor changes between consecutive steps (after Yang et al., ACL 2025, "The Mirage of Model
# Editing").  The gold prefix goes first, while partial credit is still counted, so that the
# effect teacher forcing has through the gold prefix gets a step of its own.
STEPS = (
    ("TF token accuracy", "teacher_forced", "acc"),             # papers' number: gold prefix, partial credit, length given
    ("gen. first L, token share", "autoregressive", "first_L_acc"),  # own prefix (EasyEdit's generation check)
    ("gen. first L, all tokens", "autoregressive", "first_L"),    # no partial credit
    ("gen. first L, words", "autoregressive", "first_L_prefix"),  # token ids of the target -> words of any alias
    ("gen. prefix", "autoregressive", "prefix"),                 # natural stopping: the length is no longer given
    ("gen. exact", "autoregressive", "exact"),                   # and nothing may follow the answer
)
WHAT_EACH_STEP_REMOVES = {
    "gen. first L, token share": "the gold prefix",
    "gen. first L, all tokens": "partial credit",
    "gen. first L, words": "token matching (aliases count)",
    "gen. prefix": "the target length",
    "gen. exact": "text after the answer",
}
# The other order's middle step, kept beside the chain: teacher forcing without partial credit.
# It equals "gen. first L, all tokens" up to numerics (a target whose every token is the argmax
# under its gold prefix is what greedy decoding produces), so the order only moves credit between
# "the gold prefix" and "partial credit".
BESIDE = ("TF all tokens", "teacher_forced", "exact_match")


def per_request(rows, editor: str, protocol: str, key: str) -> dict:
    """{request id: value} for one editor and protocol (``key`` such as ``rewrite_prefix``)."""
    return {r["id"]: r.get(key) for r in rows if r.get("editor") == editor and r["protocol"] == protocol}


def editors_of(rows) -> list[str]:
    return list(dict.fromkeys(r["editor"] for r in rows))


def decomposition(rows, role: str = "rewrite") -> dict[str, list[dict]]:
    """Per editor, each step's estimate and the paired change from the step before it (and
    :data:`BESIDE`, without a change)."""
    out = {}
    for editor in editors_of(rows):
        steps, previous = [], None
        for name, protocol, verdict in (*STEPS, BESIDE):
            values = per_request(rows, editor, protocol, f"{role}_{verdict}")
            if not any(v is not None for v in values.values()):
                previous = None  # a missing step: the next change would span two factors
                continue
            step = {"step": name, "estimate": estimate(values.values()), "change": None}
            if previous is not None and name != BESIDE[0]:
                step["change"] = paired_bootstrap(previous, values)
            previous = values
            steps.append(step)
        out[editor] = steps
    return out


def chain(dec: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The decomposition without the step kept beside the chain (for the figure)."""
    return {editor: [s for s in steps if s["step"] != BESIDE[0]] for editor, steps in dec.items()}


def format_decomposition(dec: dict[str, list[dict]], role: str = "rewrite") -> str:
    lines = [f"{role}: each step changes one factor; change = paired difference from the step above, 95% bootstrap interval"]
    for editor, steps in dec.items():
        lines.append(f"{editor} (n={steps[0]['estimate'].n})")
        for s in steps:
            change = f"  change {s['change']}" + (" *" if s["change"].significant else "") if s["change"] else ""
            removes = f"  (removes {WHAT_EACH_STEP_REMOVES[s['step']]})" if s["step"] in WHAT_EACH_STEP_REMOVES else ""
            lines.append(f"  {s['step']:26} {s['estimate']}{change}{removes}")
    lines.append(f"* the interval excludes 0 and the sign test gives p < 0.05; '{BESIDE[0]}' is not in the chain "
                 "(the other order's middle step)")
    return "\n".join(lines)


def paired_gaps(rows, roles=("rewrite", "rephrase"), tf_verdict: str = "acc", ar_verdicts=("prefix", "exact")) -> list[dict]:
    """Teacher forcing (as papers report it) against each generation verdict, per editor and role."""
    table = []
    for editor in editors_of(rows):
        for role in roles:
            tf = per_request(rows, editor, "teacher_forced", f"{role}_{tf_verdict}")
            for verdict in ar_verdicts:
                ar = per_request(rows, editor, "autoregressive", f"{role}_{verdict}")
                if not any(v is not None for v in tf.values()) or not any(v is not None for v in ar.values()):
                    continue
                table.append({"editor": editor, "role": role, "verdict": verdict, "teacher_forced": estimate(tf.values()),
                              "generation": estimate(ar.values()), "difference": paired_bootstrap(tf, ar)})
    return table


def editor_differences(rows, key: str = "rewrite_prefix", protocol: str = "autoregressive") -> list[dict]:
    """Every pair of editors on the same requests: B minus A, paired bootstrap."""
    out = []
    for a, b in combinations(editors_of(rows), 2):
        va, vb = per_request(rows, a, protocol, key), per_request(rows, b, protocol, key)
        if any(v is not None for v in va.values()) and any(v is not None for v in vb.values()):
            out.append({"a": a, "b": b, "key": key, "protocol": protocol, "difference": paired_bootstrap(va, vb)})
    return out


# The footnote of every list that stars paired differences (PairedDifference.significant).
STAR = "* the 95% interval excludes 0 and p < 0.05"


def format_paired(table: list[dict]) -> str:
    e = max([len("editor")] + [len(t["editor"]) for t in table])
    w = max([22] + [len(format(t[k])) for t in table for k in ("teacher_forced", "generation", "difference")])
    lines = [f"{'editor':{e}} {'probe':9} {'verdict':7} {'teacher-forced':>{w}} {'generation':>{w}} {'difference (paired)':>{w}}    n       p"]
    for t in table:
        d: PairedDifference = t["difference"]
        lines.append(f"{t['editor']:{e}} {t['role']:9} {t['verdict']:7} {format(t['teacher_forced']):>{w}} "
                     f"{format(t['generation']):>{w}} {format(d):>{w}} {d.n:4} {p_value(d.p):>7}" + (" *" if d.significant else ""))
    return "\n".join(lines + [f"p: exact sign test; {STAR}"])


def format_editor_differences(table: list[dict]) -> str:
    lines = []
    for t in table:
        d = t["difference"]
        lines.append(f"{t['b']} - {t['a']} ({t['key']}, {t['protocol']}): {d}  n={d.n} {format_p(d.p)}"
                     + (" *" if d.significant else ""))
    return "\n".join(lines + [f"{STAR}; {multiplicity_note(len(table))}"] if table else lines)


VERDICT_TABLE = (("teacher_forced", "acc", "token accuracy"), ("teacher_forced", "exact_match", "all tokens"),
                 ("autoregressive", "prefix", "prefix"), ("autoregressive", "exact", "exact"),
                 ("autoregressive", "contains", "contains"))


def verdict_table(rows, roles=("rewrite", "rephrase"), by: str = "editor") -> list[dict]:
    """Editor x protocol x verdict, each role's mean with its interval (Wilson for proportions)."""
    table = []
    for group in dict.fromkeys(r[by] for r in rows):
        for protocol, verdict, label in VERDICT_TABLE:
            cell = {by: group, "protocol": protocol, "verdict": label}
            for role in roles:
                cell[role] = estimate([r.get(f"{role}_{verdict}") for r in rows if r[by] == group and r["protocol"] == protocol])
            if any(cell[role].n for role in roles):
                table.append(cell)
    return table


def format_verdict_table(table: list[dict], roles=("rewrite", "rephrase"), by: str = "editor", markdown: bool = False) -> str:
    head = [by, "protocol", "verdict", *roles, "n"]
    body = [[str(t[by]), t["protocol"], t["verdict"], *(format(t[r]) for r in roles), str(max(t[r].n for r in roles))]
            for t in table]
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(b) + " |" for b in body])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths)) for line in [head, *body])


def _paired_probes(rows, roles):
    """(editor, teacher-forced probe or None, generated probe) for each generated probe of ``roles``,
    beside the same request's teacher-forced probe at the same position."""
    tf = {(r["editor"], r["id"]): r for r in rows if r["protocol"] == "teacher_forced"}
    for ar in (r for r in rows if r["protocol"] == "autoregressive"):
        t = tf.get((ar["editor"], ar["id"]))
        for pt, pa in zip(t["probes"] if t else [None] * len(ar["probes"]), ar["probes"]):
            if pa["role"] in roles:
                yield ar["editor"], pt, pa


def step_examples(rows, before: str, after: str, k: int | None = 2) -> list[dict]:
    """Rewrite/rephrase probes that pass verdict ``before`` and fail ``after`` (both generation
    verdicts, or ``exact_match`` for teacher forcing), to show what a step removes: at most
    ``k`` per editor (``None``: every one, to count them)."""
    cases = []
    for editor, pt, pa in _paired_probes(rows, ("rewrite", "rephrase")):
        passed = (pt or {}).get(before) if before == "exact_match" else pa.get(before)
        if passed == 1.0 and pa.get(after) == 0.0:
            cases.append({"editor": editor, "prompt": pa["prompt"], "target": pa["target"], "text": pa["text"]})
    by_editor = {}
    for c in cases:
        by_editor.setdefault(c["editor"], [])
        if k is None or len(by_editor[c["editor"]]) < k:
            by_editor[c["editor"]].append(c)
    return [c for cs in by_editor.values() for c in cs]


def gap_reasons(rows, editor: str, role: str = "rewrite") -> dict:
    """One editor's probes that teacher forcing scores higher than generation (token accuracy
    above the prefix verdict), sorted by why: ``n`` such probes of ``probes``; ``partial``: teacher
    forcing gave partial credit (0 < accuracy < 1), the rest had every target token right under the
    gold prefix; ``wrong_from_start``: none of the first L generated tokens matched the target token
    at its position, so the answer went wrong at its first token; ``both``: partial credit and wrong from the start."""
    out = {"editor": editor, "role": role, "probes": 0, "n": 0, "partial": 0, "wrong_from_start": 0, "both": 0}
    for _, pt, pa in _paired_probes([r for r in rows if r["editor"] == editor], (role,)):
        if pt is None:
            continue
        out["probes"] += 1
        if pt["acc"] > pa["prefix"]:
            partial, wrong = 0 < pt["acc"] < 1, pa["first_L_acc"] == 0
            out["n"] += 1
            out["partial"] += partial
            out["wrong_from_start"] += wrong
            out["both"] += partial and wrong
    return out


def format_gap_reasons(r: dict) -> str:
    return (f"{r['editor']} {r['role']}: {r['n']} of {r['probes']} probes score higher under teacher forcing; "
            f"{r['partial']} with partial teacher-forced credit, {r['wrong_from_start']} wrong from the first generated "
            f"token, {r['both']} both")


def pair_differences(pairs, a: str = "tf_acc", b: str = "ar_prefix") -> list[dict]:
    """Per editor and role, ``b`` minus ``a`` over probe pairs (:func:`editnb.experiments.probe_pairs`):
    each request's probes averaged first, then a paired bootstrap and sign test over requests;
    with how many probes score higher and lower under ``b``."""
    out = []
    for editor in dict.fromkeys(p["editor"] for p in pairs):
        for role in dict.fromkeys(p["role"] for p in pairs if p["editor"] == editor):
            mine = [p for p in pairs if p["editor"] == editor and p["role"] == role]
            ma, mb = by_request(mine, lambda p: p[a]), by_request(mine, lambda p: p[b])
            out.append({"editor": editor, "role": role, "a": estimate(ma.values()), "b": estimate(mb.values()),
                        "difference": paired_bootstrap(ma, mb),
                        "higher": sum(p[b] > p[a] for p in mine), "lower": sum(p[b] < p[a] for p in mine), "probes": len(mine)})
    return out


def format_pair_differences(table: list[dict], a: str = "TF acc", b: str = "gen. prefix") -> str:
    lines = [f"{t['editor']} {t['role']}: {a} {t['a']}, {b} {t['b']}, {b} - {a} {t['difference']} "
             f"(n={t['difference'].n} requests, {format_p(t['difference'].p)}){' *' if t['difference'].significant else ''}; "
             f"probes {b} higher {t['higher']}, lower {t['lower']}, of {t['probes']}" for t in table]
    return "\n".join(lines + [f"{STAR}; {multiplicity_note(len(table))}"] if table else lines)


def errors_of(table: list[dict], roles, by: str = "editor") -> tuple[dict, dict]:
    """(summary, errors) in the shape :func:`editnb.plotting.plot_metric_bars` draws, from a verdict table."""
    summary, errors = {}, {}
    for t in table:
        key = (t[by], f"{'TF' if t['protocol'] == 'teacher_forced' else 'gen.'} {t['verdict']}")
        summary[key] = {r: t[r].mean for r in roles}
        errors[key] = {r: (t[r].lo, t[r].hi) for r in roles}
    return summary, errors


def format_context_differences(rows, key: str = "rewrite_prefix", base: str = "plain") -> str:
    """Per editor, each context minus the plain prompt on the same edits (paired bootstrap)."""
    lines = []
    for editor in editors_of(rows):
        ref = {r["id"]: r.get(key) for r in rows if r["editor"] == editor and r.get("context") == base}
        for context in dict.fromkeys(r.get("context") for r in rows if r["editor"] == editor):
            if context == base:
                continue
            other = {r["id"]: r.get(key) for r in rows if r["editor"] == editor and r.get("context") == context}
            d = paired_bootstrap(ref, other)
            lines.append(f"{editor} {context} - {base} ({key}): {d}  n={d.n} {format_p(d.p)}" + (" *" if d.significant else ""))
    return "\n".join(lines + [f"* the 95% interval excludes 0 and the sign test gives p < 0.05; {multiplicity_note(len(lines))}"])


def _reading(d: PairedDifference) -> str:
    """What a paired difference supports, in words: a direction only when the interval excludes
    zero and the sign test agrees; an interval that excludes zero alone is said to be unconfirmed."""
    if d.significant:
        return "lower than" if d.diff < 0 else "higher than"
    if d.n >= MIN_BOOTSTRAP_N and (d.lo > 0 or d.hi < 0):
        return "not confirmed as different (the interval excludes 0 but the sign test does not reject) from"
    return "not distinguishable at this n from"


def multiplicity_note(k: int) -> str:
    """The caveat under a list of ``k`` uncorrected paired tests."""
    return (f"{k} paired tests, not corrected for multiplicity: with no real differences, about "
            f"{0.05 * k:.1f} would be starred at the 5% level by chance.")


def conclusions(gaps: list[dict]) -> str:
    """One sentence per editor and probe, from the paired table.  The prefix verdict against
    teacher-forced token accuracy (the number papers report, which bundles the gold prefix,
    partial credit and the given length) is the protocol gap.  The exact verdict adds the stop
    rule (nothing may follow the answer), so its line is said to be stricter scoring, not the
    protocol alone (the decomposition separates the two).  Ends with the multiplicity caveat."""
    lines = []
    for t in gaps:
        d: PairedDifference = t["difference"]
        what = ("generation (prefix verdict)" if t["verdict"] == "prefix"
                else f"generation scored by the {t['verdict']} verdict (protocol and stop rule together)")
        lines.append(f"{t['editor']} {t['role']}: {what} {format(t['generation'])} is {_reading(d)} teacher-forced token "
                     f"accuracy ({format(t['teacher_forced'])}); paired difference {d}, n={d.n}, sign test {format_p(d.p)}.")
    return "\n".join(lines + [multiplicity_note(len(gaps))] if gaps else lines)


def summary_markdown(rows, gaps, dec, *, title: str, lifelong: dict | None = None, other_table: str = "") -> str:
    """``results/summary.md``: the verdict table, paired differences, decomposition and, when
    given, SERAC with every test edit in memory beside one edit at a time."""
    parts = [f"# {title}", "",
             "Means over requests with 95% intervals (Wilson for proportions, bootstrap over requests otherwise); "
             "generation is greedy, 16 new tokens, answers cut at the first stop string that is not part of an alias.", "",
             "## Success by protocol and verdict", "", format_verdict_table(verdict_table(rows), markdown=True), "",
             "## Teacher forcing versus generation (paired bootstrap over requests)", "", "```",
             format_paired(gaps), "```", "", "## The decomposition (rewrite)", "", "```", format_decomposition(dec), "```"]
    if lifelong:
        parts += ["", f"## SERAC: one edit in memory versus all {lifelong['n_memory']} test edits", "",
                  format_verdict_table(verdict_table(lifelong["rows"], by="memory"), by="memory", markdown=True)]
    return "\n".join(parts) + "\n"


__all__ = ["Estimate", "STEPS", "conclusions", "decomposition", "format_context_differences", "summary_markdown", "editor_differences", "format_decomposition", "format_editor_differences",
           "format_paired", "format_verdict_table", "paired_gaps", "per_request", "step_examples", "verdict_table"]
