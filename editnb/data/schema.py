"""One schema for every edit, whatever file format it came from."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .answers import AliasGroups, alias_groups, primary

LOCALITY_KINDS = ("neighborhood", "unrelated")


class EditDataError(ValueError):
    """A record that cannot be read: names the file, record index and field."""

    def __init__(self, path, index, field_name, message):
        self.path, self.index, self.field, self.reason = str(path), index, field_name, message
        where = f"record {index}" if index is not None else "file"
        super().__init__(f"{path}: {where}: field '{field_name}': {message}")


@dataclass
class Probe:
    """A prompt with its expected answer (alias groups) and what kind of probe it is."""

    prompt: str
    answer: AliasGroups
    kind: str

    @property
    def target(self) -> str:
        """The string fed under teacher forcing."""
        return primary(self.answer)


@dataclass
class EditRequest:
    """One edit: make the model answer ``prompt`` with ``target_new`` instead of ``ground_truth``."""

    id: str
    prompt: str
    subject: str
    target_new: str
    ground_truth: AliasGroups = field(default_factory=list)
    rephrase_prompts: list[str] = field(default_factory=list)
    locality: list[Probe] = field(default_factory=list)
    portability: list[Probe] = field(default_factory=list)
    source: str = ""
    relation: str = ""
    target_aliases: list[str] = field(default_factory=list)
    generation_prompts: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def target_answer(self) -> AliasGroups:
        """The edit target as alias groups: ``target_new`` or any of its aliases."""
        return alias_groups([self.target_new, *self.target_aliases])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "EditRequest":
        data = dict(data)
        for key in ("locality", "portability"):
            data[key] = [p if isinstance(p, Probe) else Probe(**p) for p in data.get(key, [])]
        return cls(**data)
