"""Notebook set-up: one call seeds everything, picks the CI or paper mode, and styles plots."""
from __future__ import annotations

import logging
import os
import random
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .paths import output_root

MODES = ("ci", "paper")


@dataclass(frozen=True)
class NotebookConfig:
    """What a notebook needs to know about the run: seed, mode and where outputs go."""

    seed: int
    mode: str
    figures_dir: Path
    results_dir: Path
    model_name: str | None = None  # None: the default model (SmolLM2-135M-Instruct)

    @property
    def paper(self) -> bool:
        return self.mode == "paper"

    def pick(self, ci, paper):
        """The CI-mode value or the paper-mode one: ``cfg.pick(ci=8, paper=200)``."""
        return paper if self.paper else ci

    def figure(self, name: str) -> Path:
        """Path stem for a figure (``plotting`` adds .png and .pdf)."""
        return self.figures_dir / name

    def result(self, name: str) -> Path:
        return self.results_dir / name


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def quiet_libraries() -> None:
    """Silence transformers' and torch's chatter that would clutter notebook outputs."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="transformers")


def setup(seed: int = 0, mode: str | None = None, model_name: str | None = None) -> NotebookConfig:
    """Seed Python, NumPy and torch, read the mode (``EDITNB_MODE``, default ``ci``), style plots.

    Outputs of the default model go to ``figures/`` and ``results/``; those of another model
    (``model_name``: a Hugging Face id or a local folder) to ``figures/<model>/`` and
    ``results/<model>/``, so that runs on two models never overwrite each other.
    """
    mode = (mode or os.environ.get("EDITNB_MODE") or "ci").lower()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r} (from EDITNB_MODE or the mode argument)")
    seed_everything(seed)
    quiet_libraries()
    from .plotting import set_style

    set_style()
    root = output_root(mode)
    sub = model_folder(model_name)
    cfg = NotebookConfig(seed=seed, mode=mode, figures_dir=root / "figures" / sub, results_dir=root / "results" / sub,
                         model_name=model_name)
    print(banner(cfg))
    return cfg


def banner(cfg: NotebookConfig) -> str:
    """One line at the top of every notebook's outputs: which run the numbers below belong to."""
    if cfg.paper:
        from .paths import repo_root

        def shown(path: Path) -> str:
            return str(path.relative_to(repo_root())) if path.is_relative_to(repo_root()) else str(path)

        return f"paper mode: the numbers below are those of the run that wrote {shown(cfg.figures_dir)}/ and {shown(cfg.results_dir)}/"
    return ("CI mode: a quick pass that checks the code (few requests, short trainings); its numbers are not the "
            "paper results (`make figures` writes those)")


def model_folder(model_name: str | None) -> str:
    """The folder name of a model's outputs: "" for the default, else the id's or path's last part."""
    if model_name in (None, ""):
        return ""
    name = Path(str(model_name).rstrip("/")).name
    if not name or name in (".", ".."):
        raise ValueError(f"cannot name an output folder after model {model_name!r}")
    return name
