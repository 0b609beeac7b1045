"""load_requests: read any supported file into EditRequests, loudly refusing broken records."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from .formats import PARSERS, detect_format
from .record import Record
from .schema import EditDataError, EditRequest


class RequestList(list):
    """The loaded requests, plus where they came from and which records were skipped (and why)."""

    def __init__(self, requests, *, path: Path, format: str, skipped: list[EditDataError], dropped: list[str] = ()):
        super().__init__(requests)
        self.path, self.format, self.skipped, self.dropped = path, format, skipped, list(dropped)


def read_records(path: Path) -> list:
    """The raw records of a JSON (array or single object) or JSON-lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise EditDataError(path, None, "<file>", f"cannot read: {err}") from err
    if path.suffix == ".jsonl" or (not text.lstrip().startswith("[") and text.count("\n{") > 0):
        records = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise EditDataError(path, len(records), "<json>", f"invalid JSON on line {lineno}: {err.msg} (column {err.colno})") from None
        return records
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise EditDataError(path, None, "<json>", f"invalid JSON on line {err.lineno}: {err.msg} (column {err.colno})") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise EditDataError(path, None, "<json>", f"expected a list of records or one record, got {type(data).__name__}")
    return data


def load_requests(path, format: str = "auto", *, on_error: str = "raise", zsre_target: str = "alt") -> RequestList:
    """Read a file of edit requests in any supported format into :class:`EditRequest` objects.

    ``format``: ``"auto"`` (by fields) or one of ``editnb, easyedit, rome, zsre, knowedit,
    mquake, qaedit``.  ``on_error="skip"`` loads the remaining records and reports the
    skipped ones (a warning, and ``result.skipped``); the default raises on the first.
    A probe with an empty answer (KnowEdit has some) is dropped, its record kept: a warning
    counts them and ``result.dropped`` says where.
    ``zsre_target`` chooses what zsRE edits to: ``"alt"`` (EasyEdit) or ``"answers"`` (ROME/MEMIT).
    """
    path = Path(path)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if format != "auto" and format not in PARSERS:
        raise ValueError(f"unknown format {format!r}; choose 'auto' or one of {sorted(PARSERS)}")
    records = read_records(path)
    if not records:
        raise EditDataError(path, None, "<json>", "the file holds no records")
    if format == "auto":
        format = detect_format(records[0])
        if format is None:
            fields = sorted(records[0]) if isinstance(records[0], dict) else type(records[0]).__name__
            raise EditDataError(path, 0, "<record>", f"unrecognised format (fields: {fields}); pass format= explicitly")
    parse = PARSERS[format]
    requests, skipped, dropped = [], [], []
    for index, data in enumerate(records):
        try:
            requests += parse(Record(data, path, index, dropped=dropped), zsre_target=zsre_target)
        except EditDataError as err:
            if on_error == "raise":
                raise
            skipped.append(err)
    if skipped:
        reasons = "; ".join(str(e) for e in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} of {len(records)} records: {reasons}", stacklevel=2)
    if dropped:
        where = "; ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        warnings.warn(f"{path}: dropped {len(dropped)} probe(s) with an empty answer, keeping their records: {where}",
                      stacklevel=2)
    return RequestList(_unique_ids(requests), path=path, format=format, skipped=skipped, dropped=dropped)


def _unique_ids(requests: list[EditRequest]) -> list[EditRequest]:
    """Ids must be unique (results are keyed by them); repeated ones get a #n suffix."""
    seen: dict[str, int] = {}
    for req in requests:
        n = seen.get(req.id, 0)
        seen[req.id] = n + 1
        if n:
            req.id = f"{req.id}#{n}"
    return requests
