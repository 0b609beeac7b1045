"""Relation templates of the embedded dataset: how each fact is asked, paraphrased and followed on."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Relation:
    """A relation between a subject and an object type, with its prompts.

    ``prompt`` and each paraphrase hold ``{}`` where the subject goes.  ``portability``
    is ``(template, lookup)``: a question whose answer follows from the *new* object
    through the named lookup table (e.g. the country of the new capital).
    """

    name: str
    wikidata: str
    prompt: str
    paraphrases: tuple[str, ...]
    facts: str
    portability: tuple[str, str] | None = None

    def pairs(self) -> list[tuple[str, str]]:
        rows = []
        for line in self.facts.strip().splitlines():
            subject, obj = (part.strip() for part in line.split("|"))
            rows.append((subject, obj))
        return rows
