"""Wilson and paired-bootstrap intervals on inputs whose answers are known."""
import math

import pytest

from editnb.intervals import bootstrap_interval, estimate, paired_bootstrap, sign_test, wilson_interval


def test_wilson_matches_the_closed_form_on_known_values():
    # 10/20 at 95%: the textbook Wilson interval is [0.2993, 0.7007]
    lo, hi = wilson_interval(10, 20)
    assert lo == pytest.approx(0.29930, abs=1e-4) and hi == pytest.approx(0.70070, abs=1e-4)
    # 24/24 is not the degenerate [1, 1] a percentile bootstrap gives: the lower end is n / (n + z^2)
    lo, hi = wilson_interval(24, 24)
    assert hi == 1.0 and lo == pytest.approx(24 / (24 + 1.959964 ** 2), abs=1e-6)
    lo, hi = wilson_interval(0, 24)
    assert lo == 0.0 and hi == pytest.approx(1 - 24 / (24 + 1.959964 ** 2), abs=1e-6)
    assert wilson_interval(1, 2, level=0.99)[0] < wilson_interval(1, 2)[0]
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_estimate_picks_wilson_for_proportions_and_bootstrap_for_shares():
    e = estimate([1, 1, 0, None, 1])
    assert e.method == "wilson" and e.n == 4 and e.mean == 0.75 and (e.lo, e.hi) == wilson_interval(3, 4)
    e = estimate([0.5, 1.0, 0.25, 0.75])
    assert e.method == "bootstrap" and e.lo <= e.mean <= e.hi
    assert estimate([None]).n == 0 and format(estimate([None])) == "-"
    assert format(estimate([1, 0])) == "0.500 [0.09, 0.91]"


def test_bootstrap_interval_shrinks_like_one_over_root_n():
    wide = bootstrap_interval([0, 1] * 10)
    narrow = bootstrap_interval([0, 1] * 250)
    assert wide[0] < 0.5 < wide[1] and narrow[0] < 0.5 < narrow[1]
    ratio = (wide[1] - wide[0]) / (narrow[1] - narrow[0])
    assert ratio == pytest.approx(math.sqrt(25), rel=0.3)


def test_paired_bootstrap_on_known_differences():
    a = {i: 1.0 for i in range(20)}
    b = {i: 1.0 if i < 5 else 0.0 for i in range(20)}
    d = paired_bootstrap(a, b)
    assert d.diff == -0.75 and d.n == 20 and d.hi < 0 and d.significant and d.p == pytest.approx(2 / 2 ** 15)
    same = paired_bootstrap(a, dict(a))
    assert (same.diff, same.lo, same.hi, same.p, same.significant) == (0.0, 0.0, 0.0, 1.0, False)
    # pairing matters: a constant shift of 0.1 on noisy values is detected when paired
    noisy = {i: (i % 7) / 7 for i in range(30)}
    shifted = {i: v + 0.1 for i, v in noisy.items()}
    d = paired_bootstrap(noisy, shifted)
    assert d.diff == pytest.approx(0.1) and d.lo == pytest.approx(0.1) and d.significant
    # only shared, non-missing requests count
    assert paired_bootstrap({1: 1.0, 2: None, 3: 0.0}, {1: 0.0, 2: 1.0, 4: 1.0}).n == 1
    with pytest.raises(ValueError, match="share no request"):
        paired_bootstrap({1: 1.0}, {2: 1.0})


def test_sign_test_guards_against_a_degenerate_bootstrap():
    assert sign_test([-1, -1, -1]) == pytest.approx(0.25)  # 2 * 0.5 ** 3
    assert sign_test([1] * 10) == pytest.approx(2 / 1024)
    assert sign_test([0, 0]) == 1.0 and sign_test([1, -1]) == 1.0
    few = paired_bootstrap({i: 1.0 for i in range(3)}, {i: 0.0 for i in range(3)})
    assert (few.lo, few.hi) == (-1.0, -1.0) and not few.significant  # the bootstrap alone would claim it
    many = paired_bootstrap({i: 1.0 for i in range(8)}, {i: 0.0 for i in range(8)})
    assert many.significant and many.p == pytest.approx(2 / 256)


def test_differences_get_a_bootstrap_interval_not_wilson():
    e = estimate([0, 1, 0, 0], proportion=False)
    assert e.method == "bootstrap" and e.lo == 0.0
    from editnb import analysis

    rows = [{"g": "a", "portability_delta": v} for v in (0, 1, -1, 0)]
    assert analysis.estimate_table(rows, ("portability_delta",), ("g",))[("a",)]["portability_delta"].lo < 0


def test_a_bootstrap_over_few_requests_prints_no_interval_while_wilson_always_does():
    few = paired_bootstrap({i: 1.0 for i in range(4)}, {i: 1.0 for i in range(4)})
    assert (few.lo, few.hi) == (0.0, 0.0)  # what a percentile bootstrap gives: not a 95% interval
    assert f"{few}" == "+0.000 [no interval, n<10]"
    assert f"{paired_bootstrap({i: 0.0 for i in range(12)}, {i: float(i % 2) for i in range(12)})}".startswith("+0.500 [+0.")
    assert f"{estimate([0.5, 1.0, 0.25, 1.0])}" == "0.688 [no interval, n<10]"
    assert f"{estimate([0.5, 1.0, 0.25, 1.0] * 3)}".startswith("0.688 [0.")
    assert f"{estimate([1, 1, 1, 1])}" == "1.000 [0.51, 1.00]"  # Wilson: valid at any n
    # what a figure draws follows what is printed
    assert not estimate([0.5, 1.0, 0.25, 1.0]).has_interval and estimate([1, 1, 1, 1]).has_interval
    assert estimate([0.5, 1.0, 0.25, 1.0] * 3).has_interval and not estimate([]).has_interval


def test_printed_bounds_are_the_nearest_unless_they_would_exclude_the_mean():
    from editnb.intervals import Estimate, PairedDifference, format_p

    assert f"{Estimate(0.998, 0.9952, 1.0, 252, 'bootstrap')}" == "0.998 [0.99, 1.00]"  # not [1.00, 1.00]
    assert f"{Estimate(0.952, 0.918, 0.973, 252, 'wilson')}" == "0.952 [0.92, 0.97]"  # nearest
    assert f"{Estimate(0.29, 0.29, 0.31, 252, 'bootstrap')}" == "0.290 [0.29, 0.31]"
    assert f"{Estimate(0.004, 0.0, 0.0062, 252, 'bootstrap')}" == "0.004 [0.00, 0.01]"
    assert f"{PairedDifference(-0.004, -0.0151, -0.0001, 252, 0.5)}" == "-0.004 [-0.02, -0.00]"
    assert f"{PairedDifference(-0.004, -0.0051, 0.0001, 252, 0.5)}" == "-0.004 [-0.01, +0.00]"
    assert f"{PairedDifference(0.002, 0.0026, 0.01, 252, 0.5)}" == "+0.002 [+0.00, +0.01]"  # 0.0026 would print above the mean
    assert (format_p(0.0004), format_p(0.0071), format_p(1.0)) == ("p<0.001", "p=0.007", "p=1.000")
