"""Evaluation settings, and the contexts a prompt can be asked in."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..framing import CONTEXTS, QA_TEMPLATE, in_context  # noqa: F401 (the evaluator's contexts live upstream of the editors)
from .verdicts import MATCHES


@dataclass(frozen=True)
class EvalConfig:
    """How probes are scored.

    ``max_new_tokens`` is fixed for every probe: it never depends on the target's length
    (EasyEdit's generation check leaks the target length this way).  Generation runs until
    EOS, or until ``stop_lookahead`` characters follow the first ``stop_strings`` (so that a
    stop string inside an answer, "F. Scott Fitzgerald", can be told from one that ends it);
    where the answer ends is then decided per answer by :mod:`editnb.evaluate.verdicts`.
    ``match`` names the headline verdict on generated answers: ``prefix`` (the answer is the
    first thing said), ``exact`` (nothing else after it) or ``contains`` (anywhere); all
    three are kept in every row.  ``batch_size`` rows are generated at once (on a 2-core CPU
    a 64-row decoding step costs about twice a 16-row one: twice the rows per second); teacher-forced batches
    hold full-vocabulary logits at every position and stay at ``tf_batch_size``.  Neither
    changes a score (explicit position ids; ``tests/test_evaluate.py``).
    """

    max_new_tokens: int = 16
    stop_strings: tuple[str, ...] = (".", "\n")
    stop_lookahead: int = 24
    match: str = "prefix"
    context: str = "plain"
    batch_size: int = 64
    tf_batch_size: int = 16
    fluency: bool = True
    fluency_max_new_tokens: int = 48
    progress: bool | None = None

    def __post_init__(self):
        if self.context not in CONTEXTS:
            raise ValueError(f"context must be one of {CONTEXTS}, got {self.context!r}")
        if self.match not in MATCHES:
            raise ValueError(f"match must be one of {MATCHES}, got {self.match!r}")
        if self.max_new_tokens < 1 or self.batch_size < 1 or self.tf_batch_size < 1:
            raise ValueError("max_new_tokens, batch_size and tf_batch_size must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    def raw_outputs(self) -> dict:
        """The settings that decide a probe's raw outputs (what :func:`editnb.evaluate.pre_edit`
        keeps): the verdict named by ``match``, fluency and progress bars are read from them later."""
        return {k: v for k, v in asdict(self).items() if k not in ("match", "fluency", "fluency_max_new_tokens", "progress")}
