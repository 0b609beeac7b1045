"""Uncertainty for small samples: Wilson intervals for proportions, bootstrap intervals for
means, and a paired bootstrap for differences measured on the same requests."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist


# A percentile bootstrap over fewer requests than this is too narrow to print (four equal
# differences give [0, 0]): the mean is shown with "no interval" instead; Wilson intervals of
# proportions are valid at any n and always shown.
MIN_BOOTSTRAP_N = 10


def _lower(lo: float, mean: float) -> float:
    """An interval's lower end to 2 decimals: the nearest, unless that would print above the
    mean (0.9952 under a mean of 0.998 prints 0.99, not 1.00)."""
    r = round(lo, 2)
    return r if r <= mean + 1e-12 else math.floor(lo * 100 + 1e-9) / 100


def _upper(hi: float, mean: float) -> float:
    """An interval's upper end to 2 decimals: the nearest, unless that would print below the mean."""
    r = round(hi, 2)
    return r if r >= mean - 1e-12 else math.ceil(hi * 100 - 1e-9) / 100


def p_value(p: float) -> str:
    """A p-value for a table column: ``<0.001`` below that, else three decimals (never ``0.000``)."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_p(p: float) -> str:
    """A p-value in a sentence: ``p<0.001`` or ``p=0.007``."""
    value = p_value(p)
    return f"p{value}" if value.startswith("<") else f"p={value}"


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion: never degenerate at 0/n or n/n (unlike the normal
    approximation or a percentile bootstrap, which give [1, 1] for 24/24)."""
    if n <= 0:
        raise ValueError("a proportion needs n >= 1")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n], got {successes} of {n}")
    z = _z(level)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(values, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean, resampling the values (requests)."""
    rng = random.Random(seed)
    k = len(values)
    means = sorted(sum(rng.choices(values, k=k)) / k for _ in range(n_boot))
    return means[int((1 - level) / 2 * n_boot)], means[min(n_boot - 1, int((1 + level) / 2 * n_boot))]


@dataclass(frozen=True)
class Estimate:
    """A mean over requests with its interval, sample size and how the interval was made."""

    mean: float | None
    lo: float | None
    hi: float | None
    n: int
    method: str

    @property
    def has_interval(self) -> bool:
        """Whether an interval is reported: not for a bootstrap over fewer than MIN_BOOTSTRAP_N
        requests, which is over-confident (printed "no interval")."""
        return (self.mean is not None and self.lo is not None and self.hi is not None
                and not (self.method == "bootstrap" and self.n < MIN_BOOTSTRAP_N))

    def __format__(self, spec: str) -> str:
        if self.mean is None:
            return "-"
        if not self.has_interval:
            return f"{self.mean:.3f} [no interval, n<{MIN_BOOTSTRAP_N}]"
        return f"{self.mean:.3f} [{_lower(self.lo, self.mean):.2f}, {_upper(self.hi, self.mean):.2f}]"


def estimate(values, level: float = 0.95, *, proportion: bool = True) -> Estimate:
    """Mean with an interval: Wilson when every value is 0 or 1 (a proportion of requests),
    otherwise a percentile bootstrap over requests (a mean of per-request shares).
    ``proportion=False`` forces the bootstrap (for a difference such as ``portability_delta``,
    whose values can be -1, 0 or 1). ``None`` values (a request without such a probe) are left out of n."""
    values = [v for v in values if v is not None]
    if not values:
        return Estimate(None, None, None, 0, "")
    mean = sum(values) / len(values)
    if proportion and all(v in (0, 1) for v in values):
        return Estimate(mean, *wilson_interval(sum(values), len(values), level), len(values), "wilson")
    return Estimate(mean, *bootstrap_interval(values, level=level), len(values), "bootstrap")


def sign_test(diffs) -> float:
    """Exact two-sided sign test: the chance of a split of positive and negative differences at
    least this uneven if either sign were equally likely (zeros dropped).  For 0/1 outcomes it
    is McNemar's exact test."""
    pos, neg = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    n = pos + neg
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(pos, neg) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class PairedDifference:
    """mean(b - a) over the requests both have, its paired-bootstrap interval, and the exact
    sign test's p-value.  A percentile bootstrap is over-confident on a few requests (three
    differences of -1 give the interval [-1, -1]), so a difference counts as significant only
    when the interval excludes zero *and* the sign test agrees (p < 0.05)."""

    diff: float
    lo: float
    hi: float
    n: int
    p: float

    @property
    def significant(self) -> bool:
        """The interval excludes zero and the sign test rejects equal chances (p < 0.05)."""
        return (self.lo > 0 or self.hi < 0) and self.p < 0.05

    def __format__(self, spec: str) -> str:
        if self.n < MIN_BOOTSTRAP_N:
            return f"{self.diff:+.3f} [no interval, n<{MIN_BOOTSTRAP_N}]"
        # a bound below zero that rounds to zero prints as -0.00 (Python keeps the sign of -0.0)
        return f"{self.diff:+.3f} [{_lower(self.lo, self.diff):+.2f}, {_upper(self.hi, self.diff):+.2f}]"


def paired_bootstrap(a: dict, b: dict, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> PairedDifference:
    """Difference b - a between two conditions measured on the same requests (dicts keyed by
    request id), resampling requests so that each keeps its pair: the right test for "the same
    edits, teacher-forced versus generated" or "editor A versus editor B on the same edits"."""
    ids = [i for i in a if i in b and a[i] is not None and b[i] is not None]
    if not ids:
        raise ValueError("the two conditions share no request")
    diffs = [b[i] - a[i] for i in ids]  # resampling the per-request differences keeps each pair together
    lo, hi = bootstrap_interval(diffs, n_boot=n_boot, level=level, seed=seed)
    return PairedDifference(sum(diffs) / len(diffs), lo, hi, len(diffs), sign_test(diffs))
