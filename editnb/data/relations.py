"""Relations of the embedded dataset: how each fact is asked (per split), and followed on."""
from __future__ import annotations

from dataclasses import dataclass

TEMPLATE_SPLITS = ("train", "dev", "test")


def fill(template: str, subject: str) -> str:
    """``template`` with ``subject`` in place of ``{}``.

    A prompt that starts with the subject gets a capital first letter ("the Eiffel Tower can
    be found" -> "The Eiffel Tower can be found"), and ``{}'s`` takes a bare apostrophe after
    a subject ending in "s" ("the United States' capital").
    """
    if template.count("{}") != 1:
        raise ValueError(f"a template holds '{{}}' exactly once: {template!r}")
    if "{}'s" in template and subject.endswith("s"):
        template = template.replace("{}'s", "{}'")
    text = template.replace("{}", subject)
    return text[0].upper() + text[1:] if template.startswith("{}") else text


@dataclass(frozen=True)
class Relation:
    """A relation between a subject and an object type, with its prompt templates.

    Each template holds ``{}`` where the subject goes; the train, dev and test sets are
    disjoint, and a record of a split is asked with that split's templates only.
    ``portability`` is ``(template, lookup)``: a question whose answer follows from the *new*
    object through the named lookup table (e.g. the country of the new capital).
    """

    name: str
    wikidata: str
    train_templates: tuple[str, ...]
    dev_templates: tuple[str, ...]
    test_templates: tuple[str, ...]
    facts: str
    portability: tuple[str, str] | None = None

    def __post_init__(self):
        sets = [self.templates(s) for s in TEMPLATE_SPLITS]
        for template in (t for ts in sets for t in ts):
            fill(template, "x")  # raises unless '{}' occurs once
        if any(len(ts) < 2 for ts in sets) or len({t for ts in sets for t in ts}) != sum(map(len, sets)):
            raise ValueError(f"{self.name}: each split needs >= 2 templates, all distinct")

    def templates(self, split: str) -> tuple[str, ...]:
        """The templates of ``split`` ("train", "dev" or "test"); the first is the main prompt."""
        if split not in TEMPLATE_SPLITS:
            raise ValueError(f"split must be one of {TEMPLATE_SPLITS}, got {split!r}")
        return getattr(self, f"{split}_templates")

    def pairs(self) -> list[tuple[str, str]]:
        rows = []
        for line in self.facts.strip().splitlines():
            subject, obj = (part.strip() for part in line.split("|"))
            rows.append((subject, obj))
        return rows


def subject_key(subject: str) -> str:
    """The subject without a leading lowercase article: the id and split key of its facts
    ("the Eiffel Tower" -> "Eiffel Tower"), unchanged since the v1 dataset, whose subjects
    carried no article."""
    return subject[4:] if subject.startswith("the ") else subject
