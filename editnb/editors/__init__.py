"""Editors: one shape for all (apply -> restorable EditedModel)."""
from __future__ import annotations

from pathlib import Path

from . import scope
from .base import EditedModel, Editor
from .ft import FTL, FTL7B, FTM, FTHParams, FTMHParams

EDITORS = {"FT-L": FTL, "FT-L-7B": FTL7B, "FT-M": FTM}


def register(cls):
    """Make an editor class available to get_editor under its ``name``."""
    EDITORS[cls.name] = cls
    return cls


def get_editor(name: str, hparams_file: str | Path | None = None, **hparams) -> Editor:
    """An editor by name (``"FT-L"``, ``"FT-M"``, ``"SERAC"``, ``"SERAC-oracle"``, ``"ROME"``, ``"MEMIT"``,
    ``"AlphaEdit"``, ``"MEND"``, ``"GRACE"``, ``"IKE"``, ``"Fact-in-prompt"``), with defaults, a file, or overrides."""
    _load_optional()
    key = {k.upper(): k for k in EDITORS}.get(name.upper())
    if key is None:
        raise ValueError(f"unknown editor {name!r}; available: {sorted(EDITORS)}")
    cls = EDITORS[key]
    base = cls.HParams.from_file(hparams_file) if hparams_file else cls.HParams()
    return cls(base.replace(**hparams) if hparams else base)


# How tables list the editors: by family (fine-tuning, locate-then-edit, memory, in context);
# an editor registered later and not named here comes last.
ORDER = ("FT-L", "FT-L-7B", "FT-M", "ROME", "MEMIT", "AlphaEdit", "MEND", "GRACE", "WISE", "SERAC", "SERAC-oracle", "IKE", "Fact-in-prompt")


def available() -> list[str]:
    """Names of every registered editor, in the order of ``ORDER``."""
    _load_optional()
    return sorted(EDITORS, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))


def _load_optional():
    """Editors with heavier imports register themselves on first use."""
    from . import mend, serac  # noqa: F401
    from .locate import memit, rome  # noqa: F401
    from .memory import grace, ike, wise  # noqa: F401


__all__ = ["EDITORS", "EditedModel", "Editor", "FTHParams", "FTL", "FTL7B", "FTM", "FTMHParams", "available", "get_editor", "register"]
