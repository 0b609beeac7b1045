"""The shape every editor shares: apply() returns an edited model that can be restored exactly."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import torch


class EditedModel:
    """What ``editor.apply`` returns: use it like the model (``forward``, ``generate``, ``config``).

    ``restore()`` (or leaving a ``with`` block) undoes every edit: weight editors copy the
    saved original tensors back, bit for bit; memory editors drop their memory.  Applying
    the same editor again to an EditedModel adds edits on top (lifelong editing).
    """

    def __init__(self, module, base, editor, restore_fn: Callable[[], None], requests, row_edits=None, slots=None):
        self.module, self.base, self.editor = module, base, editor
        self._restore_fn = restore_fn
        self.requests = list(requests)
        self.restored = False
        self.row_edits: RowEdits | None = row_edits
        # apply_each / apply_streams: the requests each separate edit holds (one each for apply_each)
        self.slots: list[list] | None = None
        if row_edits is not None:
            self.slots = [list(s) for s in slots] if slots is not None else [[r] for r in self.requests]

    @property
    def each(self) -> bool:
        """True for ``apply_each``'s result: K separate single edits, picked per row by ``rows``."""
        return self.row_edits is not None

    def rows(self, edit_ids):
        """Context in which row i of every batch sees the model edited by edit ``edit_ids[i]`` alone
        (the index into ``requests``); only for the result of ``apply_each``."""
        if self.row_edits is None:
            raise TypeError("rows() is for the result of apply_each; this model holds its edits together")
        return self.row_edits(edit_ids, len(self.slots))

    def edit_index(self, request) -> int:
        """Which of ``apply_each``'s separate edits holds ``request`` (matched by id)."""
        index = {r.id: i for i, slot in enumerate(self.slots or []) for r in slot}
        if request.id not in index:
            raise KeyError(f"request {request.id!r} is not in any of this model's {len(self.slots or [])} separate edits")
        return index[request.id]

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def generate(self, *args, **kwargs):
        return self.module.generate(*args, **kwargs)

    def __getattr__(self, name):  # config, generation_config, device, parameters, ...
        if name.startswith("_") or name in ("module", "base"):
            raise AttributeError(name)
        return getattr(self.module, name)

    def restore(self):
        """Undo every edit; the base model is exactly as before the first apply()."""
        if not self.restored:
            self._restore_fn()
            self.restored = True
        return self.base

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()
        return False

    def __repr__(self):
        state = "restored" if self.restored else f"{len(self.requests)} {'separate ' if self.each else ''}edits"
        return f"EditedModel({self.editor.name}, {state})"


class RowEdits:
    """Which edit each row of the current batch belongs to, read by an edit-parallel model's hooks.

    Held by the EditedModel of ``apply_each`` (never module-level state); ``with rows(ids):``
    sets it for the calls inside, and a call outside any ``rows`` is an error, not a silent
    evaluation of some default edit.
    """

    def __init__(self):
        self.ids: torch.Tensor | None = None
        self.batch: torch.Tensor | None = None  # the ids ``rows`` was given, before any keep()

    @contextmanager
    def __call__(self, edit_ids, n_edits: int):
        ids = torch.as_tensor(list(edit_ids) if not torch.is_tensor(edit_ids) else edit_ids, dtype=torch.long)
        if ids.ndim != 1 or (len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n_edits)):
            raise ValueError(f"edit ids must index the {n_edits} edits, got {ids.tolist()}")
        previous = self.ids, self.batch
        self.ids = self.batch = ids
        try:
            yield self
        finally:
            self.ids, self.batch = previous

    def keep(self, rows: list[int]) -> None:
        """Narrow the batch to ``rows``, indices into the batch as ``rows()`` set it: the rows
        still running when :func:`editnb.decoding.greedy_continue` drops finished ones."""
        if self.batch is None:
            raise RuntimeError("keep() narrows the batch set by rows(); none is set")
        self.ids = self.batch[torch.as_tensor(rows, dtype=torch.long)]

    def current(self, n_rows: int) -> torch.Tensor:
        if self.ids is None:
            raise RuntimeError("this model holds separate edits: call it inside edited.rows(edit_ids)")
        if len(self.ids) != n_rows:
            raise ValueError(f"{len(self.ids)} edit ids for a batch of {n_rows} rows")
        return self.ids


def unwrap(model) -> tuple[object, EditedModel | None]:
    """The base model and the EditedModel around it (None when ``model`` is not edited)."""
    if isinstance(model, EditedModel):
        if model.restored:
            raise ValueError("this EditedModel was restored; apply the editor to the base model again")
        return model.base, model
    return model, None


def unwrap_adding(model, editor_type: type) -> tuple[object, EditedModel | None]:
    """``unwrap`` for an editor that adds edits to its own EditedModel (memories, codebooks,
    contexts): a model edited by any other editor is refused."""
    base, prior = unwrap(model)
    if prior is not None and not isinstance(prior.editor, editor_type):
        raise ValueError(f"cannot add {editor_type.name} edits to a model edited by {prior.editor.name}; restore it first")
    return base, prior


class WeightSnapshot:
    """Copies of the named parameters taken before the first edit, restorable bit for bit."""

    def __init__(self, model, names):
        params = dict(model.named_parameters())
        missing = [n for n in names if n not in params]
        if missing:
            raise KeyError(f"no parameters named {missing}")
        offloaded = [n for n in names if params[n].device.type == "meta"]
        if offloaded:  # accelerate reloads these from its offload store at every call: an in-place edit would be lost
            raise ValueError(f"cannot edit {offloaded} in place: accelerate offloaded them (device 'meta'); keep the edited "
                             "blocks on a device in the device_map, or use apply_each (per-row deltas in hooks)")
        self.params = {n: params[n] for n in names}
        self.saved = {n: p.detach().clone() for n, p in self.params.items()}

    @torch.no_grad()
    def restore(self):
        for name, param in self.params.items():
            param.copy_(self.saved[name])


def weight_edit_target(editor, base, prior: EditedModel | None, names) -> EditedModel:
    """The EditedModel that in-place weight edits of ``names`` go into: ``prior`` when it holds
    this editor's edits of those weights (lifelong editing), else a new one that snapshots them."""
    if prior is not None:
        if type(prior.editor) is not type(editor) or any(n not in prior.snapshot.params for n in names):
            raise ValueError(f"cannot add {editor.name} edits to a model edited by {prior.editor.name}; restore it first")
        return prior
    snapshot = WeightSnapshot(base, list(names))
    edited = EditedModel(base, base, editor, snapshot.restore, [])
    edited.snapshot = snapshot
    return edited


class Editor:
    """Base class: subclasses set ``name`` and ``HParams`` and implement ``_edit``."""

    name = "editor"
    HParams = None

    def __init__(self, hparams=None, **overrides):
        hparams = hparams if hparams is not None else self.HParams()
        self.hparams = hparams.replace(**overrides) if overrides else hparams

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        """Edit ``model`` so that it holds ``requests``; returns a restorable EditedModel.

        ``sequential=False`` applies the requests together as one batch edit; ``True``
        applies them one after another, each on the model that already holds the earlier
        ones.  Passing an EditedModel of this editor adds the new edits to it.
        """
        raise NotImplementedError

    def apply_each(self, model, tokenizer, requests) -> EditedModel:
        """Make every request as a *separate* single edit, all at once (edit-parallel).

        Returns an EditedModel whose ``rows(edit_ids)`` context decides, per row of a batch,
        which edit that row sees: row i behaves as the base model edited by request
        ``edit_ids[i]`` alone, as ``apply(model, tokenizer, [request])`` would make it.
        :func:`editnb.evaluate.evaluate` scores such a model with each request's probes on
        its own edit.  The base model's weights are not changed; ``restore()`` removes the edits.
        """
        raise NotImplementedError(f"{self.name} has no edit-parallel apply_each yet; use apply() one request at a time")

    def apply_streams(self, model, tokenizer, streams) -> EditedModel:
        """K sequences of edits side by side: separate edit k holds ``streams[k]`` applied one
        after another, as ``apply(model, tokenizer, streams[k], sequential=True)`` would make it.
        Passing the result again continues every stream with the next lists of requests.
        Rows pick their stream with ``rows(edit_ids)``; request ids must be unique across
        streams (``edit_index`` finds a request's stream by id)."""
        raise NotImplementedError(f"{self.name} has no side-by-side apply_streams; apply each stream in turn")

    def __repr__(self):
        return f"{type(self).__name__}({self.hparams})"
