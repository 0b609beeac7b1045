"""Results on disk: written atomically, keyed so an interrupted run resumes where it stopped."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def write_text(path, text: str) -> Path:
    """Write to a temporary file in the same folder, then rename it into place (atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path, data) -> Path:
    """Write JSON atomically (a reader never sees half a file)."""
    return write_text(path, json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")


def save_atomic(obj, path) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename it into place (atomic)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def result_key(*parts) -> str:
    """A stable short key for (editor, hyperparameters, model, request, ...)."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ResultStore:
    """One JSON file per key under a folder, each written atomically: a run looks up what is
    saved (``get``) before computing it, and saves each result as soon as it has it (``put``)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str):
        path = self.path(key)
        return read_json(path) if path.is_file() else None

    def put(self, key: str, value) -> None:
        write_json(self.path(key), value)
