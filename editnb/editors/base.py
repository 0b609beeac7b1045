"""The shape every editor shares: apply() returns an edited model that can be restored exactly."""
from __future__ import annotations

from typing import Callable

import torch


class EditedModel:
    """What ``editor.apply`` returns: use it like the model (``forward``, ``generate``, ``config``).

    ``restore()`` (or leaving a ``with`` block) undoes every edit: weight editors copy the
    saved original tensors back, bit for bit; memory editors drop their memory.  Applying
    the same editor again to an EditedModel adds edits on top (lifelong editing).
    """

    def __init__(self, module, base, editor, restore_fn: Callable[[], None], requests):
        self.module, self.base, self.editor = module, base, editor
        self._restore_fn = restore_fn
        self.requests = list(requests)
        self.restored = False

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
        state = "restored" if self.restored else f"{len(self.requests)} edits"
        return f"EditedModel({self.editor.name}, {state})"


def unwrap(model) -> tuple[object, EditedModel | None]:
    """The base model and the EditedModel around it (None when ``model`` is not edited)."""
    if isinstance(model, EditedModel):
        if model.restored:
            raise ValueError("this EditedModel was restored; apply the editor to the base model again")
        return model.base, model
    return model, None


class WeightSnapshot:
    """Copies of the named parameters taken before the first edit, restorable bit for bit."""

    def __init__(self, model, names):
        params = dict(model.named_parameters())
        missing = [n for n in names if n not in params]
        if missing:
            raise KeyError(f"no parameters named {missing}")
        self.params = {n: params[n] for n in names}
        self.saved = {n: p.detach().clone() for n, p in self.params.items()}

    @torch.no_grad()
    def restore(self):
        for name, param in self.params.items():
            param.copy_(self.saved[name])


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

    def __repr__(self):
        return f"{type(self).__name__}({self.hparams})"
