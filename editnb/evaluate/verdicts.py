"""Strict verdicts on a generated answer: where the answer ends, and three ways to score it.

Greedy tokens do not depend on where the text is later cut, so the cut is a scoring
decision made here, after generation.  The rule:

* The answer ends at the first stop string (``"."``, ``"\\n"``, ...) after its first
  visible character, **unless that stop string lies inside an occurrence of an accepted
  alias that itself contains it**: in "F. Scott Fitzgerald wrote it." the first "." is
  part of the alias, the last one ends the answer.
* Why this is fair: the exception only keeps text that already spells an accepted answer
  letter for letter, so it can turn a cut-short right answer back into a right one but
  never a wrong answer into a right one; and it never uses the target's *length* (EasyEdit's
  generation check reads exactly as many tokens as the target has, which leaks it).

On the cut text, compared word by word (:func:`words`: accents stripped, lower case,
punctuation as a separator, articles dropped, as :func:`editnb.data.normalize_answer` does), three verdicts:

* ``prefix``: the answer is the first thing said ("Paris, the capital" passes);
* ``exact``: the cut text is the answer and nothing else ("Paris" passes, "Paris Paris"
  and "zloty, which is ..." fail);
* ``contains``: the answer appears anywhere in the cut text (the lenient rule many papers use).

Known limit of ``prefix``: it reads words, not phrases, so "tenor saxophonist" passes for
*tenor*; ``exact`` rejects it.  Both are always reported.

An answer with several alias groups (KnowEdit, MQuAKE) needs every group (AND; see
:func:`editnb.data.alias_groups`): ``prefix`` wants the first group first and every group
somewhere, ``exact`` wants one alias of each group in order, joined only by "and" or punctuation.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..data.answers import alias_groups

MATCHES = ("prefix", "exact", "contains")
_WORD = re.compile(r"[^\W_]+")
_ARTICLES = {"a", "an", "the"}
_JOINERS = {"and"}


@dataclass(frozen=True)
class Word:
    norm: str
    start: int
    end: int


def words(text: str) -> list[Word]:
    """Normalised words of ``text`` (accents stripped, lower case, articles dropped) with raw spans."""
    out = []
    for m in _WORD.finditer(text):
        norm = "".join(ch for ch in unicodedata.normalize("NFKD", m.group()) if not unicodedata.combining(ch)).lower()
        if norm and norm not in _ARTICLES:
            out.append(Word(norm, m.start(), m.end()))
    return out


def _alias_words(alias: str) -> tuple[str, ...]:
    return tuple(w.norm for w in words(alias))


def _occurrences(text_words: list[Word], alias: str):
    """(start word index, raw start, raw end) of every occurrence of ``alias`` in the text."""
    target = _alias_words(alias)
    n = len(target)
    if not n:
        return
    for i in range(len(text_words) - n + 1):
        if tuple(w.norm for w in text_words[i:i + n]) == target:
            yield i, text_words[i].start, text_words[i + n - 1].end


def answer_end(text: str, answer, stop_strings) -> int:
    """Where the answer ends in ``text``: the first stop string that is not inside an alias containing it."""
    if not stop_strings:
        return len(text)
    first = len(text) - len(text.lstrip())
    text_words = words(text)
    protected = []  # (raw start, raw end, the alias's own text)
    for group in alias_groups(answer):
        for alias in group:
            if any(s in alias for s in stop_strings):
                protected += [(a, b, alias) for _, a, b in _occurrences(text_words, alias)]
    cut = len(text)
    for stop in stop_strings:
        at = text.find(stop, first + 1)
        while at >= 0:
            if not any(a <= at < b and stop in alias for a, b, alias in protected):
                cut = min(cut, at)
                break
            at = text.find(stop, at + 1)
    return cut


def _match_group_at(text_words, pos: int, group) -> int | None:
    """Index after the longest alias of ``group`` that starts at word ``pos``, or None."""
    best = None
    for alias in group:
        target = _alias_words(alias)
        if target and tuple(w.norm for w in text_words[pos:pos + len(target)]) == target:
            best = max(best or 0, pos + len(target))
    return best


def _contains(text_words, group) -> bool:
    return any(next(_occurrences(text_words, alias), None) is not None for alias in group)


def _exact(text_words, groups) -> bool:
    pos = 0
    for k, group in enumerate(groups):
        while k and pos < len(text_words) and text_words[pos].norm in _JOINERS:
            pos += 1
        pos = _match_group_at(text_words, pos, group)
        if pos is None:
            return False
    return pos == len(text_words)


def verdicts(text: str, answer, stop_strings=(".", "\n")) -> dict:
    """The answer as cut from ``text`` (``answer_text``) and its three verdicts (bools)."""
    groups = alias_groups(answer)
    cut = text[:answer_end(text, groups, stop_strings)]
    cut_words = words(cut)
    contains = all(_contains(cut_words, g) for g in groups)
    prefix = contains and _match_group_at(cut_words, 0, groups[0]) is not None
    return {"answer_text": cut, "prefix": prefix, "exact": _exact(cut_words, groups), "contains": contains}


def verdict(text: str, answer, match: str = "prefix", stop_strings=(".", "\n")) -> bool:
    """One verdict by name (``prefix``, ``exact`` or ``contains``)."""
    if match not in MATCHES:
        raise ValueError(f"match must be one of {MATCHES}, got {match!r}")
    return verdicts(text, answer, stop_strings)[match]
