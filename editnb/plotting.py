"""Figures: notebooks call these, and they save PNG and PDF with stable metadata."""
from __future__ import annotations

from pathlib import Path


import matplotlib.pyplot as plt

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
