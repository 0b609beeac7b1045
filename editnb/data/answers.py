"""Answers as alias groups, and SQuAD-style matching of generated text against them.

An answer is a list of *groups*, each a list of accepted strings (aliases).  A text
matches when every group has at least one alias in it: AND across groups, OR
within a group.  A plain string is one group of one alias; a flat list of strings
is one group of aliases.  (EasyEdit's ``verify_answer`` iterates over a plain
string character by character; here a string is always a whole alias.)
"""
from __future__ import annotations

import re
import string
import unicodedata

AliasGroups = list[list[str]]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"«", "»", "“", "”", "‘", "’", "–", "—"}


class EmptyAnswerError(ValueError):
    """An answer with no usable alias (KnowEdit has probes whose ``ground_truth`` is ``[[]]``)."""


def alias_groups(answer) -> AliasGroups:
    """Normalise an answer given as a string, a list of aliases or a list of alias lists.

    Empty inner lists (KnowEdit has some) are dropped; raises ``ValueError`` (with what
    was wrong) when nothing usable is left or an alias is not a string.
    """
    if isinstance(answer, str):
        groups = [[answer]]
    elif isinstance(answer, (list, tuple)):
        if all(isinstance(a, str) for a in answer):
            groups = [list(answer)]
        elif all(isinstance(a, (list, tuple)) for a in answer):
            groups = [list(g) for g in answer]
        else:
            raise ValueError("a list of aliases must hold only strings or only lists of strings, not a mix")
    else:
        raise ValueError(f"expected a string or a list of strings, got {type(answer).__name__}")
    cleaned = []
    for group in groups:
        if not all(isinstance(a, str) for a in group):
            raise ValueError("every alias must be a string")
        group = [a.strip() for a in group if a.strip()]
        if group:
            cleaned.append(group)
    if not cleaned:
        raise EmptyAnswerError("the answer is empty")
    return cleaned


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (lower case, no punctuation, no articles, single spaces), and no accents."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_alias(text: str, alias: str) -> bool:
    """Whole-word containment after normalisation ("rome" is not found in "romania")."""
    needle = normalize_answer(alias)
    return bool(needle) and f" {needle} " in f" {normalize_answer(text)} "


def matches(text: str, answer) -> bool:
    """True when ``text`` holds at least one alias of every group of ``answer``."""
    return all(any(contains_alias(text, alias) for alias in group) for group in alias_groups(answer))


def starts_with(text: str, answer) -> bool:
    """True when ``text`` begins with an alias of the first group (prefix match)."""
    norm = normalize_answer(text)
    return any(
        (n := normalize_answer(alias)) and (norm == n or norm.startswith(n + " "))
        for alias in alias_groups(answer)[0]
    )


def primary(answer) -> str:
    """The string a teacher-forced check feeds: the first alias of each group, joined."""
    return ", ".join(group[0] for group in alias_groups(answer))
