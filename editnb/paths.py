"""Paths found from the repository root (where pyproject.toml is), never from the working directory."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The checkout's root: the nearest parent of the package holding pyproject.toml."""
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise FileNotFoundError(f"no pyproject.toml above {PACKAGE_DIR}; is editnb installed from a checkout (pip install -e .)?")


def output_root(mode: str = "paper") -> Path:
    """Where figures/ and results/ go: ``EDITNB_OUTPUT`` if set, else the repository root in
    paper mode and ``build/ci`` in CI mode (so test runs never touch the committed figures)."""
    env = os.environ.get("EDITNB_OUTPUT")
    if env:
        return Path(env).expanduser().resolve()
    return repo_root() if mode == "paper" else repo_root() / "build" / "ci"


def data_dir() -> Path:
    return repo_root() / "data"
