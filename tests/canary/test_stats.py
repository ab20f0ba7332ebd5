"""The confidence-sequence arithmetic, checked against closed forms and by Monte Carlo."""

from __future__ import annotations

import math
import random
from bisect import insort

import pytest

from canary.stats import (
    Prior,
    log_beta_cdf,
    log_evalue_above,
    lower_bound,
    upper_bound,
    upper_quantile_rank,
)

PRIOR = Prior(0.05, 20.0)  # Beta(1, 19): integer parameters give closed forms below


def binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))


def exact_evalue_above(successes: int, trials: int, t: float) -> float:
    """E_n(t) for the Beta(1, 19) prior, from integer identities only.

    For integer a, b: 1 - I_t(a, b) = P(Binomial(a + b - 1, t) <= a - 1).
    """
    failures = trials - successes

    def log_b(s: int, f: int) -> float:
        return math.lgamma(1 + s) + math.lgamma(19 + f) - math.lgamma(20 + s + f)

    ratio = math.exp(log_b(successes, failures) - log_b(0, 0))
    tail = binomial_cdf(successes, trials + 19, t) / (1 - t) ** 19
    return ratio * t**-successes * (1 - t) ** -failures * tail


@pytest.mark.parametrize(("x", "a", "b", "expected"), [
    (0.05, 1.0, 19.0, 1 - 0.95**19),  # I_x(1, b) = 1 - (1 - x)^b
    (0.3, 2.5, 1.0, 0.3**2.5),  # I_x(a, 1) = x^a
    (0.4, 2.0, 2.0, 3 * 0.4**2 - 2 * 0.4**3),
    (0.999, 19.0, 1.0, 0.999**19),
    (1e-6, 1.0, 19.0, 1 - (1 - 1e-6) ** 19),  # tiny: no cancellation
])
def test_incomplete_beta_matches_closed_forms(x: float, a: float, b: float,
                                              expected: float) -> None:
    lower, upper = log_beta_cdf(x, a, b)
    assert math.exp(lower) == pytest.approx(expected, rel=1e-12)
    assert math.exp(upper) == pytest.approx(1 - expected, rel=1e-9)


@pytest.mark.parametrize(("successes", "trials", "t"), [
    (0, 10, 0.05), (3, 50, 0.05), (10, 50, 0.05), (22, 200, 0.05), (5, 400, 0.02),
    (190, 200, 0.9),
])
def test_evalue_matches_the_integer_closed_form(successes: int, trials: int, t: float) -> None:
    assert log_evalue_above(successes, trials, t, PRIOR) == pytest.approx(
        math.log(exact_evalue_above(successes, trials, t)), abs=1e-9)


@pytest.mark.parametrize("alpha", [0.015, 0.05])
@pytest.mark.parametrize(("successes", "trials"), [
    (1, 1), (1, 10), (3, 50), (22, 200), (25, 1000), (300, 15000), (49, 50), (50, 50),
])
def test_lower_bound_is_where_the_evidence_crosses_one_over_alpha(
        successes: int, trials: int, alpha: float) -> None:
    bound = lower_bound(successes, trials, alpha, PRIOR)
    assert 0 < bound < successes / trials or (successes == trials and bound < 1)
    # Rounded outwards: the bound itself is rejected, a hair above it is not.
    assert log_evalue_above(successes, trials, bound, PRIOR) >= -math.log(alpha)
    assert log_evalue_above(successes, trials, bound * (1 + 1e-7), PRIOR) < -math.log(alpha)


def test_bounds_at_the_edges() -> None:
    assert lower_bound(0, 0, 0.05, PRIOR) == 0.0
    assert upper_bound(0, 0, 0.05, PRIOR) == 1.0
    assert lower_bound(0, 500, 0.05, PRIOR) == 0.0
    assert upper_bound(500, 500, 0.05, PRIOR) == 1.0
    assert 0.0 < upper_bound(0, 500, 0.05, PRIOR) < 0.02


def test_bounds_move_with_the_count_and_tighten_with_more_trials() -> None:
    lowers = [lower_bound(s, 200, 0.01, PRIOR) for s in range(201)]
    uppers = [upper_bound(s, 200, 0.01, PRIOR) for s in range(201)]
    assert lowers == sorted(lowers) and uppers == sorted(uppers)
    widths = [upper_bound(n // 50, n, 0.01, PRIOR) - lower_bound(n // 50, n, 0.01, PRIOR)
              for n in (100, 400, 1600, 6400)]
    assert widths == sorted(widths, reverse=True)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="successes"):
        lower_bound(5, 4, 0.05, PRIOR)
    with pytest.raises(ValueError, match="alpha"):
        lower_bound(1, 4, 0.0, PRIOR)
    with pytest.raises(ValueError, match="prior mean"):
        Prior(1.0, 20.0)


def test_lower_bound_holds_at_every_look_with_probability_one_minus_alpha() -> None:
    """Ville's inequality, by Monte Carlo: the true rate sits on the threshold and we
    look after every 5 trials up to 1,000. alpha = 0.1 so that a breach would show."""
    rng, alpha, p, runs = random.Random(7), 0.1, 0.05, 400
    crossed = 0
    for _ in range(runs):
        successes = 0
        for n in range(1, 1001):
            successes += rng.random() < p
            if n % 5 == 0 and lower_bound(successes, n, alpha, PRIOR) > p:
                crossed += 1
                break
    assert crossed / runs <= alpha, f"crossed in {crossed} of {runs} runs"


def test_a_fixed_sample_bound_rechecked_every_look_does_not_hold() -> None:
    """Why the sequences: the one-sided Wilson bound at the same alpha, looked at as often,
    wrongly excludes the true rate far more than alpha of the time."""
    rng, alpha, p, runs = random.Random(7), 0.1, 0.05, 400
    z = 1.2815515655446004  # one-sided 90%
    crossed = 0
    for _ in range(runs):
        successes = 0
        for n in range(1, 1001):
            successes += rng.random() < p
            if n % 5:
                continue
            phat = successes / n
            centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
            half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
            if centre - half > p:
                crossed += 1
                break
    assert crossed / runs > 2 * alpha, f"crossed in {crossed} of {runs} runs"


def test_quantile_rank_is_the_smallest_rejecting_count() -> None:
    prior, alpha = Prior(0.95, 20.0), 0.005
    for trials in [*range(1, 400, 7), 1000, 2345]:
        rank = upper_quantile_rank(trials, 0.95, alpha, prior)
        rejecting = [k for k in range(math.ceil(0.95 * trials), trials + 1)
                     if log_evalue_above(k, trials, 0.95, prior) >= -math.log(alpha)]
        assert rank == (rejecting[0] if rejecting else None), trials
    assert upper_quantile_rank(0, 0.95, alpha, prior) is None


def test_quantile_bound_covers_the_true_quantile_at_every_look() -> None:
    """Uniform values: the true 0.95-quantile is 0.95. Look every 20 values up to 2,000."""
    rng, alpha, runs, prior = random.Random(11), 0.1, 200, Prior(0.95, 20.0)
    missed = 0
    for _ in range(runs):
        values: list[float] = []
        for n in range(1, 2001):
            insort(values, rng.random())
            if n % 20:
                continue
            rank = upper_quantile_rank(n, 0.95, alpha, prior)
            if rank is not None and values[rank - 1] < 0.95:
                missed += 1
                break
    assert missed / runs <= alpha, f"missed in {missed} of {runs} runs"


def test_evidence_falls_as_the_threshold_rises_towards_the_estimate() -> None:
    """So the rejected thresholds form one interval [0, L_n) and a root finder's
    crossing is the bound."""
    for prior in (PRIOR, Prior(0.01, 20.0), Prior(0.95, 20.0)):
        for trials in (1, 5, 50, 1000):
            for successes in range(1, trials + 1, max(1, trials // 20)):
                grid = [i / 500 for i in range(1, 500) if i / 500 < successes / trials]
                values = [log_evalue_above(successes, trials, t, prior) for t in grid]
                assert all(a >= b - 1e-9 for a, b in zip(values, values[1:], strict=False))
