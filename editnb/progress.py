"""One progress-bar helper for every long loop (tqdm.auto: a widget in Jupyter, text elsewhere)."""
from __future__ import annotations

import os

from tqdm.auto import tqdm


def progress(iterable=None, *, desc: str | None = None, total: int | None = None, disable: bool | None = None, **kwargs):
    """Wrap ``iterable`` in a progress bar; ``EDITNB_PROGRESS=0`` silences every bar."""
    if disable is None:
        disable = os.environ.get("EDITNB_PROGRESS", "1") == "0"
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=False, **kwargs)
