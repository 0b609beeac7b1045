"""Which edit each row of a batch sees, for models that hold separate edits (``apply_each``)."""
from __future__ import annotations

from contextlib import nullcontext


def rows_context(model, edit_ids, batch_rows):
    """``model.rows(...)`` for the batch made of ``batch_rows`` (indices into ``edit_ids``);
    nothing for an ordinary model.  A separate-edits model without ``edit_ids`` is an error."""
    each = getattr(model, "each", False)
    if edit_ids is None:
        if each:
            raise ValueError("this model holds separate edits (apply_each): pass the edit of every row")
        return nullcontext()
    if not each:
        raise ValueError("edit ids were given, but the model holds its edits together (apply, not apply_each)")
    return model.rows([edit_ids[i] for i in batch_rows])
