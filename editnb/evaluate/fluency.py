"""Fluency as in EasyEdit (after ROME): weighted bi- and tri-gram entropy of a generated text."""
from __future__ import annotations

import math
import re
from collections import Counter

_WORD = re.compile(r"\w+|[^\w\s]")


def ngram_entropy(text: str, ns=(2, 3), weights=(2 / 3, 4 / 3)) -> float:
    """Mean over n of weight_n * entropy (bits) of the n-gram distribution; 0 for texts too short.

    Repetitive text ("Paris Paris Paris ...") scores low; varied text scores high.
    """
    words = _WORD.findall(text.lower())
    values = []
    for n, w in zip(ns, weights):
        grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
        total = sum(grams.values())
        h = -sum(c / total * math.log2(c / total) for c in grams.values()) if total else 0.0
        values.append(w * h)
    return sum(values) / len(values)
