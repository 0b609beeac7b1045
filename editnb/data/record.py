"""Typed access to one raw record, raising errors that name the file, record and field."""
from __future__ import annotations

from .answers import AliasGroups, EmptyAnswerError, alias_groups
from .schema import EditDataError

_MISSING = object()


class Record:
    """A raw JSON object with typed getters; every failure is an :class:`EditDataError`."""

    def __init__(self, data, path, index, prefix: str = "", dropped: list | None = None):
        self.path, self.index, self.prefix = path, index, prefix
        # where probes with no answer were dropped: "record 3: locality.Relation_Specificity[0]" (shared by sub-records)
        self.dropped = dropped if dropped is not None else []
        if not isinstance(data, dict):
            raise EditDataError(path, index, prefix or "<record>", f"expected a JSON object, got {type(data).__name__}")
        self.data = data

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, message: str):
        raise EditDataError(self.path, self.index, self.name(key), message)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str, default=_MISSING):
        if key not in self.data or self.data[key] is None:
            if default is _MISSING:
                self.fail(key, "missing required field")
            return default
        return self.data[key]

    def text(self, key: str, default=_MISSING, *, nonempty: bool = True) -> str:
        if default is not _MISSING and not self.has(key):
            return default
        value = self.raw(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {type(value).__name__}")
        if nonempty and not value.strip():
            self.fail(key, "expected a non-empty string")
        return value.strip()

    def texts(self, key: str, *, required: bool = False) -> list[str]:
        """A string or a list of strings, as a list (empty strings dropped)."""
        value = self.raw(key, _MISSING if required else [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a string or a list of strings, got {type(value).__name__}")
        return [v.strip() for v in value if v.strip()]

    def answer(self, key: str, default=_MISSING) -> AliasGroups:
        if default is not _MISSING and not self.has(key):
            return default
        return self.groups(key, self.raw(key))

    def groups(self, key: str, value) -> AliasGroups:
        """``value`` (read from ``key``) as alias groups."""
        try:
            return alias_groups(value)
        except ValueError as err:
            self.fail(key, f"{err} (an answer is a string, a list of aliases or a list of alias lists)")

    def optional_answer(self, key: str) -> AliasGroups | None:
        """The answer at ``key``, or None (noted in ``dropped``) when it is present but empty."""
        value = self.raw(key)
        try:
            return alias_groups(value)
        except EmptyAnswerError:
            self.dropped.append(f"record {self.index}: {self.name(key)}")
            return None
        except ValueError:
            return self.groups(key, value)

    def sub(self, data, prefix: str) -> "Record":
        return Record(data, self.path, self.index, prefix, self.dropped)

    def obj(self, key: str) -> "Record":
        return self.sub(self.raw(key), self.name(key))

    def objs(self, key: str, *, required: bool = False) -> list["Record"]:
        value = self.raw(key, _MISSING if required else [])
        if not isinstance(value, list):
            self.fail(key, f"expected a list of objects, got {type(value).__name__}")
        return [self.sub(v, f"{self.name(key)}[{i}]") for i, v in enumerate(value)]

    def template(self, key: str, subject: str) -> str:
        """A ROME-style prompt template: must hold ``{}`` where the subject goes."""
        tpl = self.text(key)
        if "{}" not in tpl:
            self.fail(key, f"prompt template {tpl!r} has no '{{}}' placeholder for the subject")
        return tpl.replace("{}", subject)
