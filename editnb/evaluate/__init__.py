"""Evaluators: teacher-forced and autoregressive, locality in both modes, batched and exact."""
from .config import CONTEXTS, EvalConfig
from .core import PROTOCOLS, Outputs, evaluate, pre_edit
from .fluency import ngram_entropy
from .generation import Generation, greedy_generate
from .reference import evaluate_reference, pre_edit_reference

__all__ = [
    "CONTEXTS", "EvalConfig", "Generation", "Outputs", "PROTOCOLS", "evaluate", "evaluate_reference",
    "greedy_generate", "ngram_entropy", "pre_edit", "pre_edit_reference",
]
