"""Figures: notebooks call these, and they save PNG and PDF with stable metadata."""
from __future__ import annotations

import textwrap
from pathlib import Path


import matplotlib.pyplot as plt
import numpy as np

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
    "svg.hashsalt": "editnb",
}


def set_style() -> None:
    plt.rcParams.update(_STYLE)


def save_figure(fig, save: str | Path | None) -> list[Path]:
    """Write ``save``.png and ``save``.pdf (no timestamps, so reruns give the same files)."""
    if save is None:
        return []
    stem = Path(save)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], metadata={"Software": None})
    fig.savefig(paths[1], metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return paths


def display_token(token: str) -> str:
    """A token as a reader should see it: BPE's and SentencePiece's space markers shown as ␣."""
    return token.replace("Ġ", "␣").replace("▁", "␣").replace("Ċ", "\\n")


def plot_token_log_probs(rows: dict[str, tuple[list[str], list[float]]], *, title: str = "", save=None):
    """Bar chart of per-token log-probabilities for several targets after the same prompt.

    ``rows`` maps a label (e.g. ``" Paris"``) to ``(tokens, log_probs)``.
    """
    fig, ax = plt.subplots()
    x0 = 0
    ticks, labels = [], []
    for i, (label, (tokens, logps)) in enumerate(rows.items()):
        xs = list(range(x0, x0 + len(tokens)))
        total = sum(logps)
        bars = ax.bar(xs, logps, color=f"C{i}", label=f"{label!r}: sum log p = {total:.2f}")
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
        ticks += xs
        labels += [display_token(t) for t in tokens]
        x0 += len(tokens) + 1
    ax.set_xticks(ticks, labels, rotation=30, ha="right")
    ax.set_ylabel("log p(token | prefix)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=len(rows), fontsize=8, frameon=False)
    save_figure(fig, save)
    return fig


def plot_training_curves(history: list[dict], *, title: str = "", save=None):
    """Edit NLL, classifier loss and classifier accuracy per step (dev points where recorded)."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    steps = [h["step"] for h in history]
    for ax, key, label in zip(axes, ("edit_nll", "cls_loss", "cls_acc"), ("edit NLL", "classifier loss", "classifier accuracy")):
        ax.plot(steps, [h[key] for h in history], lw=1, alpha=0.7, label="train batch")
        dev = [(h["step"], h[f"dev_{key}"]) for h in history if f"dev_{key}" in h]
        if dev:
            ax.plot(*zip(*dev), "o-", color="C3", label="dev")
        ax.set_xlabel("step")
        ax.set_title(label)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, save)
    return fig


def plot_scope_scores(scores: dict[str, list[float]], curve, threshold: float, *, save=None):
    """Histograms of the scope score per input kind, and precision/recall against the threshold."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    bins = [i / 40 for i in range(41)]
    for i, (kind, values) in enumerate(scores.items()):
        ax1.hist(values, bins=bins, alpha=0.55, color=f"C{i}", label=f"{kind} (n={len(values)})")
    ax1.axvline(threshold, color="black", ls="--", lw=1)
    ax1.set_xlabel("scope score")
    ax1.set_ylabel("inputs")
    ax1.set_yscale("log")
    ax1.legend(fontsize=8)
    ts, precision, recall = zip(*curve)
    ax2.plot(ts, precision, label="precision")
    ax2.plot(ts, recall, label="recall")
    ax2.axvline(threshold, color="black", ls="--", lw=1)
    ax2.set_xlabel("threshold")
    ax2.set_ylim(0, 1.02)
    ax2.legend(fontsize=8)
    save_figure(fig, save)
    return fig


HATCHES = ("", "///", "...", "xxx")
# one colour per editor in every figure of the workbook, in the order editors are listed
_EDITOR_PALETTE = [plt.cm.tab20(i) for i in (0, 1, 2, 4, 5, 6, 8, 10, 12, 14, 15, 16, 18, 3, 7, 9, 11, 13, 17, 19)]


def editor_color(label):
    """The colour of the editor that ``label`` names ("ROME", or "ROME gen. prefix"), the same in
    every figure; None when the label names no registered editor."""
    from .editors import available

    names = available()
    for name in sorted(names, key=len, reverse=True):
        if str(label) == name or str(label).startswith(name + " "):
            return _EDITOR_PALETTE[names.index(name) % len(_EDITOR_PALETTE)]
    return None


UNEDITED_COLOR = "black"  # the unedited model, a reference rather than an editor
UNEDITED_BAR = dict(color="white", edgecolor="black")  # an outlined bar: its error bar stays visible


def _color(label, i: int):
    """An editor's colour (a one-element key such as ("ROME",) names its editor), black for the
    unedited model, else the i-th of matplotlib's cycle."""
    if isinstance(label, tuple) and len(label) == 1:
        label = label[0]
    if str(label) == "unedited" or str(label).startswith("unedited "):
        return UNEDITED_COLOR
    return editor_color(label) or f"C{i % 10}"


def bar_styles(keys) -> dict:
    """Colour and hatch of each bar: for (group, variant) keys such as (editor, protocol), one colour
    per group and one hatch per variant, so a group's bars read as a pair; otherwise a colour each."""
    if keys and all(isinstance(k, tuple) and len(k) == 2 for k in keys):
        groups = list(dict.fromkeys(k[0] for k in keys))
        variants = list(dict.fromkeys(k[1] for k in keys))
        return {k: dict(color=_color(k[0], groups.index(k[0])), hatch=HATCHES[variants.index(k[1]) % len(HATCHES)],
                        edgecolor="white") for k in keys}
    return {k: UNEDITED_BAR if _color(k, i) == UNEDITED_COLOR else dict(color=_color(k, i)) for i, k in enumerate(keys)}


def plot_metric_bars(summary: dict, metrics, *, groups_label: str = "", title: str = "", errors: dict | None = None,
                     ylabel: str = "", save=None):
    """Grouped bars: one group per metric, one bar per summary key (e.g. editor x protocol)."""
    fig, ax = plt.subplots(figsize=(max(6.4, 1.6 * len(metrics)), 3.6))
    keys = list(summary)
    styles = bar_styles(keys)
    width = 0.8 / max(1, len(keys))
    for i, key in enumerate(keys):
        xs = [m + (i - (len(keys) - 1) / 2) * width for m in range(len(metrics))]
        ys = [summary[key][m] or 0.0 for m in metrics]
        yerr = None
        if errors:
            yerr = [[max(0.0, y - (errors[key][m][0] if errors[key][m][0] is not None else y)) for y, m in zip(ys, metrics)],
                    [max(0.0, (errors[key][m][1] if errors[key][m][1] is not None else y) - y) for y, m in zip(ys, metrics)]]
        label = " / ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
        ax.bar(xs, ys, width=width, label=label, yerr=yerr, capsize=2, **styles[key])
        stub = styles[key]["edgecolor"] if styles[key]["color"] == "white" else styles[key]["color"]
        _mark_zero_bars(ax, xs, ys, width, stub)
    ticks = [textwrap.fill(str(m), 16) for m in metrics]
    ax.set_xticks(range(len(metrics)), ticks)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    below = 0.06 + 0.07 * max(t.count("\n") + 1 for t in ticks)  # under the (wrapped) tick labels
    ax.legend(fontsize=8, title=groups_label, loc="upper center", bbox_to_anchor=(0.5, -below), ncol=min(4, len(keys)), frameon=False)
    save_figure(fig, save)
    return fig


def _mark_zero_bars(ax, xs, ys, width, color):
    """A bar of height zero is invisible: draw a thick stub at zero so a reader sees a 0, not a gap."""
    for x, y in zip(xs, ys):
        if y == 0:
            ax.plot([x - width / 2, x + width / 2], [0.008, 0.008], color=color, linewidth=3, solid_capstyle="butt")


def _value_grid(ax, values, row_labels, col_labels, title: str):
    """An annotated heat map of shares in [0, 1]: each cell prints its value (a zero reads as 0.00),
    NaN cells grey."""
    colours = plt.get_cmap("Greens").with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=colours, vmin=0, vmax=1, interpolation="nearest")
    for (i, j), v in np.ndenumerate(values):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v > 0.6 else "black")
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    ax.set_xticks(range(len(col_labels)), [textwrap.fill(str(c), 9) for c in col_labels], fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.grid(False)
    return image


def plot_decomposition(by_role: dict[str, dict], *, save=None):
    """The Mirage decomposition, ``{role: chain}`` (see :func:`editnb.decomposition.chain`): one
    panel per probe kind, one row per editor (with its n), one column per step (one factor changed
    at a time); each cell prints its mean, so nothing overlaps."""
    fig, axes = plt.subplots(1, len(by_role), figsize=(5.2 * len(by_role), 0.9 + 0.33 * max(len(d) for d in by_role.values())),
                             squeeze=False, layout="constrained")
    for ax, (role, dec) in zip(axes[0], by_role.items()):
        editors = list(dec)
        steps = list(dict.fromkeys(s["step"] for e in editors for s in dec[e]))
        values = np.full((len(editors), len(steps)), np.nan)
        for i, editor in enumerate(editors):
            for s in dec[editor]:
                if s["estimate"].mean is not None:
                    values[i, steps.index(s["step"])] = s["estimate"].mean
        n = [next((s["estimate"].n for s in dec[e]), 0) for e in editors]
        image = _value_grid(ax, values, [f"{e} (n={k})" for e, k in zip(editors, n)], steps,
                            f"{role} prompts: mean success after each step")
    fig.colorbar(image, ax=axes[0].tolist(), fraction=0.03, pad=0.01, label="mean over requests")
    fig.suptitle("Where teacher-forced success goes, one factor at a time (left to right)", fontsize=10)
    save_figure(fig, save)
    return fig


def plot_context_grid(table: dict, metrics, *, title: str = "", save=None):
    """``{(editor, context): {metric: Estimate}}`` as one annotated heat map per metric: a row per
    editor (with n), a column per context, each cell printing its mean."""
    editors = list(dict.fromkeys(e for e, _ in table))
    contexts = list(dict.fromkeys(c for _, c in table))
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.2 + 1.9 * len(metrics), 0.9 + 0.3 * len(editors)), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, metric in zip(axes[0], metrics):
        values = np.array([[table[(e, c)][metric].mean if (e, c) in table and table[(e, c)][metric].mean is not None else np.nan
                            for c in contexts] for e in editors], dtype=float)
        n = [max((table[(e, c)][metric].n for c in contexts if (e, c) in table), default=0) for e in editors]
        image = _value_grid(ax, values, [f"{e} (n={k})" for e, k in zip(editors, n)], contexts, metric.replace("_", " "))
    fig.colorbar(image, ax=axes[0].tolist(), fraction=0.03, pad=0.01, label="mean over requests")
    fig.suptitle(title, fontsize=10)
    save_figure(fig, save)
    return fig


# one line style per verdict in the length panels
LENGTH_STYLES = (("teacher_forced", "TF token accuracy", "o--"), ("autoregressive", "gen. prefix", "s-"), ("exact", "gen. exact", "^:"))


def plot_length_panels(by_length: dict, editors=None, *, title: str = "", save=None):
    """The gap by target length, ``{(editor, bucket): {"teacher_forced", "autoregressive", "exact", "n"}}``
    (:func:`editnb.experiments.by_target_length`): one small panel per editor (in the order of
    ``editors``, default as found) in its colour, the three verdicts as three line styles, each
    bucket's probe count under its tick."""
    editors = [e for e in (editors or dict.fromkeys(e for e, _ in by_length)) if any(k[0] == e for k in by_length)]
    cols = min(5, len(editors))
    rows = -(-len(editors) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.0 * rows + 0.6), squeeze=False, sharey=True, layout="constrained")
    for ax, editor in zip(axes.flat, editors):
        buckets = [b for e, b in by_length if e == editor]
        for key, label, style in LENGTH_STYLES:
            ax.plot(range(len(buckets)), [by_length[(editor, b)][key] for b in buckets], style, color=editor_color(editor) or "C0",
                    label=label, markersize=4)
        ax.set_xticks(range(len(buckets)), [f"{b}\nn={by_length[(editor, b)]['n']}" for b in buckets], fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(editor, fontsize=9)
    for ax in axes.flat[len(editors):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("mean over probes", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend([plt.Line2D([], [], linestyle=h.get_linestyle(), marker=h.get_marker(), color="0.3") for h in handles], labels,
               loc="outside lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.supxlabel("target length (tokens)", fontsize=9)
    fig.suptitle(title or "By target length", fontsize=10)
    save_figure(fig, save)
    return fig


def plot_serac_architecture(*, save=None):
    """SERAC in a picture: the scope classifier routes each input to the base or counterfactual model."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.set_axis_off()
    boxes = {
        "input": (0.02, 0.42, "input x"),
        "memory": (0.25, 0.78, "edit memory\n(e1 ... eN as text)"),
        "cls": (0.25, 0.42, "scope classifier\nmax_i s(x, e_i) > t ?"),
        "base": (0.62, 0.1, "base model\n(untouched)"),
        "cf": (0.62, 0.72, "counterfactual model\nreads  e* + x"),
        "out": (0.9, 0.42, "output"),
    }
    for key, (x, y, text) in boxes.items():
        ax.text(x, y, text, ha="left", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.4", fc="#eef3fb" if key not in ("base", "cf") else "#fdf1e3", ec="#555"))
    arrows = [((0.1, 0.42), (0.245, 0.42), ""), ((0.32, 0.7), (0.32, 0.5), ""), ((0.44, 0.47), (0.6, 0.7), "in scope: e*"),
              ((0.44, 0.37), (0.6, 0.14), "out of scope"), ((0.8, 0.7), (0.895, 0.47), ""), ((0.76, 0.14), (0.895, 0.37), "")]
    for start, end, label in arrows:
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="#333"))
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.04, label, fontsize=8, ha="center")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1)
    save_figure(fig, save)
    return fig


def plot_lines(series: dict[str, tuple[list, list]], *, xlabel: str, ylabel: str, title: str = "", xlog: bool = False,
               save=None):
    """One line per series: ``{label: (xs, ys)}``; categorical xs (strings) are placed at 0, 1, ..."""
    fig, ax = plt.subplots()
    categories = list(dict.fromkeys(x for xs, _ in series.values() for x in xs if isinstance(x, str)))
    for i, (label, (xs, ys)) in enumerate(series.items()):
        pos = [categories.index(x) if isinstance(x, str) else x for x in xs]
        ax.plot(pos, ys, "o-", label=label, color=_color(label, i))
    if categories:
        ax.set_xticks(range(len(categories)), categories)
    if xlog:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(4, len(series)), frameon=False)
    save_figure(fig, save)
    return fig


SEQUENTIAL_TITLES = {"rewrite_acc": "rewrite success (generated, prefix verdict)",
                     "locality": "locality (generated-token agreement)"}


def _shown_interval(e) -> tuple[float, float]:
    """An estimate's interval as drawn: the mean itself where none is printed."""
    return (e.lo, e.hi) if e.has_interval else (e.mean, e.mean)


def plot_sequential(bands: dict, *, title: str = "Sequential editing", save=None):
    """Curves of :func:`editnb.analysis.sequential_bands`, one panel per metric and one colour per
    editor: the mean over the distinct requests scored against the number of accumulated edits
    (ticks at the checkpoints), shaded over its 95% interval: the statistic and the interval the
    table prints.  The y axis starts a little below 0, so that a curve at 0 is seen above the axis."""
    metrics = list(dict.fromkeys(m for _, m in bands))
    editors = list(dict.fromkeys(e for e, _ in bands))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.8), sharey=True, squeeze=False)
    checkpoints = sorted({n for cell in bands.values() for n in cell["n_edits"]})
    for ax, metric in zip(axes[0], metrics):
        for i, editor in enumerate(editors):
            cell = bands.get((editor, metric))
            if cell is None:
                continue
            shown = [(n, e) for n, e in zip(cell["n_edits"], cell["interval"]) if e.mean is not None]
            xs, color = [n for n, _ in shown], _color(editor, i)
            ax.plot(xs, [e.mean for _, e in shown], "o-", color=color, label=editor, markersize=4)
            lows, highs = zip(*[_shown_interval(e) for _, e in shown]) if shown else ((), ())
            ax.fill_between(xs, lows, highs, color=color, alpha=0.15, linewidth=0)
        ax.set_xscale("log")
        ax.set_xticks(checkpoints, [str(n) for n in checkpoints])
        ax.minorticks_off()
        ax.set_ylim(-0.04, 1.04)
        ax.set_xlabel("accumulated edits")
        ax.set_title(SEQUENTIAL_TITLES.get(metric, metric), fontsize=10)
    axes[0][0].set_ylabel("mean over requests")
    orderings = max((o for cell in bands.values() for o in cell["orderings"]), default=0)
    counts = sorted({e.n for cell in bands.values() for e in cell["interval"]})
    n = f"n={counts[0]}" if len(counts) == 1 else f"n={counts[0]}-{counts[-1]}"
    fig.suptitle(f"{title}\n({n} requests per point, pooled over {orderings} orderings; band: 95% interval over requests)",
                 fontsize=10)
    fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.02),
               ncol=min(5, len(editors)), frameon=False)
    fig.tight_layout()
    save_figure(fig, save)
    return fig


def plot_histograms(samples: dict[str, list[int]], *, xlabel: str, title: str = "", totals: dict[str, int] | None = None,
                    save=None):
    """Integer histograms as small multiples, one panel per sample in its editor's colour, on
    shared axes; a sample with no values gets an empty panel that says so (a zero is shown, not
    left out). ``totals`` gives each panel's "k of N" in its title."""
    labels = list(samples)
    cols = min(4, max(1, len(labels)))
    rows = -(-len(labels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 1.9 * rows + 0.6), sharex=True, sharey=True, squeeze=False)
    top = max((max(v) for v in samples.values() if v), default=1)
    bins = [b - 0.5 for b in range(top + 2)]
    for i, ax in enumerate(axes.flat):
        if i >= len(labels):
            ax.set_visible(False)
            continue
        label, values = labels[i], samples[labels[i]]
        ax.hist(values, bins=bins, color=_color(label, i))
        of = f" of {totals[label]}" if totals and label in totals else ""
        ax.set_title(f"{label}: {len(values)}{of}", fontsize=9)
        if not values:
            ax.text(0.5, 0.5, "none changed", transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.4")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel, fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("probes", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, save)
    return fig


_KIND_TITLES = {"hidden": "hidden state (residual)", "mlp": "MLP output", "attn": "attention output"}
_KIND_MAPS = {"hidden": "Purples", "mlp": "Greens", "attn": "Reds"}


def _heat(ax, values, ylabels, title, cmap, fig, *, xlabel: str = "layer", scale: str = "indirect effect"):
    """A heat map; NaN cells (a token group this fact or no fact has) drawn grey, not as zero."""
    colours = plt.get_cmap(cmap).with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=colours, interpolation="nearest")
    ax.set_yticks(range(len(ylabels)), ylabels, fontsize=7)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02).set_label(scale, fontsize=8)


def _window_label(kind: str, size: int) -> str:
    """The x label of a trace panel: a sublayer is restored over ``size`` layers around the layer
    (as :func:`editnb.tracing.trace_fact` does), the hidden state at the layer alone."""
    if kind == "hidden" or size <= 1:
        return "layer"
    half = size // 2
    return f"layer L (restored: L-{half} to L+{size - half - 1}, clipped)"


def plot_trace(traces: dict, *, window: int = 10, save=None):
    """One fact's causal traces side by side, ``{kind: Trace}``: indirect effect by layer and token
    (subject tokens starred), the colour bar in probability of the true answer's first token."""
    fig, axes = plt.subplots(1, len(traces), figsize=(4.6 * len(traces), 3.4), squeeze=False, layout="constrained")
    for ax, (kind, trace) in zip(axes[0], traces.items()):
        s0, s1 = trace.subject
        labels = [display_token(t) + ("*" if s0 <= i < s1 else "") for i, t in enumerate(trace.tokens)]
        _heat(ax, trace.effects.T, labels, f"restoring the {_KIND_TITLES[kind]}", _KIND_MAPS[kind], fig,
              xlabel=_window_label(kind, window), scale="indirect effect (Δ P(answer))")
    first = next(iter(traces.values()))
    fig.suptitle(f"{first.prompt!r} -> {first.answer!r}: P(clean) = {first.clean:.3f}, "
                 f"P(corrupted) = {first.corrupted:.3f}", fontsize=9)
    save_figure(fig, save)
    return fig


def plot_average_effects(effects: dict, positions, *, n: int, window: int = 10, save=None):
    """Average indirect effect by layer and token-position group, ``{kind: (layers, groups) array}``."""
    fig, axes = plt.subplots(1, len(effects), figsize=(4.8 * len(effects), 3.0), squeeze=False, layout="constrained")
    for ax, (kind, table) in zip(axes[0], effects.items()):
        _heat(ax, table.T, list(positions), f"AIE of the {_KIND_TITLES[kind]}", _KIND_MAPS[kind], fig,
              xlabel=_window_label(kind, window), scale="average indirect effect (Δ P(answer))")
    fig.suptitle(f"Average indirect effect over n={n} facts the model knows (grey: no token in that group)", fontsize=9)
    save_figure(fig, save)
    return fig


# Teacher-forced verdicts hollow, generation verdicts filled (notebook 03's main figure).
# shades of grey and black, so that no verdict shares a colour with an editor of the other figures
VERDICT_COLORS = ("0.55", "0.55", "0.0", "0.0")
VERDICT_MARKERS = {"token accuracy": ("o", "TF token accuracy"), "all tokens": ("s", "TF all tokens"),
                   "prefix": ("^", "generation, prefix"), "exact": ("v", "generation, exact")}


def plot_verdict_dots(table: list[dict], roles=("rewrite", "rephrase"), *, title: str = "", save=None):
    """A verdict table (:func:`editnb.decomposition.verdict_table`) as one row per editor and one
    panel per role: each verdict's mean with its 95% interval, readable for a dozen editors
    (a zero is a marker at 0, never an invisible bar)."""
    editors = list(dict.fromkeys(t["editor"] for t in table))
    fig, axes = plt.subplots(1, len(roles), figsize=(4.4 * len(roles), 0.42 * len(editors) + 1.6), sharey=True, squeeze=False)
    offsets = np.linspace(-0.27, 0.27, len(VERDICT_MARKERS))
    for ax, role in zip(axes[0], roles):
        for (verdict, (marker, name)), dy, color in zip(VERDICT_MARKERS.items(), offsets, VERDICT_COLORS):
            cells = [(i, t[role]) for i, e in enumerate(editors) for t in table
                     if t["editor"] == e and t["verdict"] == verdict and t[role].mean is not None]
            if not cells:
                continue
            ax.errorbar([c.mean for _, c in cells], [i + dy for i, _ in cells], fmt=marker, ms=5, capsize=2, color=color,
                        xerr=[[c.mean - c.lo for _, c in cells], [c.hi - c.mean for _, c in cells]], label=name,
                        mfc="none" if verdict in ("token accuracy", "all tokens") else color)
        ax.set_yticks(range(len(editors)), editors)
        ax.set_xlim(-0.03, 1.03)
        ax.set_xlabel(f"{role}: mean over requests")
        ax.set_title(role)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.06))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, save)
    return fig
