"""Anytime-valid bounds for a proportion, from the standard library only.

A one-sided confidence sequence is a sequence of bounds L_1, L_2, ... with
P(p < L_n at any n at all) <= alpha. A gate may look at it after every request,
every minute or whenever it likes, and act at any look, without inflating its
error rate: exactly what a gate evaluated every minute for a whole stage needs.

The construction is the one-sided beta-binomial mixture (Robbins 1970; Howard,
Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
confidence sequences"). For the null "p <= t", with S successes and F failures
in n Bernoulli trials and a Beta(a, b) density pi truncated to [t, 1],

    E_n(t) = integral over q >= t of (q/t)^S ((1-q)/(1-t))^F pi(q) dq / pi(q >= t)

Each integrand is a nonnegative supermartingale when p <= t (one more trial
multiplies it by p*q/t + (1-p)(1-q)/(1-t) in expectation, which is <= 1, equal
at p = t), so their average E_n(t) is one too, with E_0 = 1, and Ville's
inequality gives P(some n has E_n(t) >= 1/alpha) <= alpha. Rejecting every t
with E_n(t) >= 1/alpha yields the lower bound L_n. The upper bound is the same
construction applied to the failures.

In closed form, with I_x(a, b) the regularised incomplete beta function:
    log E_n(t) = log B(a+S, b+F) - log B(a, b) - S log t - F log(1-t)
                 + log(1 - I_t(a+S, b+F)) - log(1 - I_t(a, b))

Docs: docs/canary.md, "The statistics behind the gates".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

# Root finding to this width in log p (a relative error of 1e-9 in p); bounds are
# rounded outwards, so a reported interval always contains the exact one.
_TOLERANCE = 1e-9
_MAX_STEPS = 100
_MAX_JUMP = 50.0  # in log p, while looking for a first point outside
# Lentz's continued fraction needs O(sqrt(a + b)) terms near the mean; this covers
# counts in the tens of millions.
_FRACTION_TERMS = 20_000
_FRACTION_PRECISION = 1e-15
_TINY = 1e-300


@dataclass(frozen=True)
class Prior:
    """The Beta(a, b) mixing density, given as a mean and a strength a + b.

    Any prior fixed before the data keeps the bounds valid; its choice only moves
    where they are tightest. Centred on the threshold a gate compares against,
    they are tightest where its decisions are made.
    """

    mean: float
    strength: float

    def __post_init__(self) -> None:
        if not 0.0 < self.mean < 1.0:
            raise ValueError(f"prior mean must lie strictly between 0 and 1, got {self.mean}")
        if not self.strength > 0.0:
            raise ValueError(f"prior strength must be positive, got {self.strength}")

    @property
    def a(self) -> float:
        return self.mean * self.strength

    @property
    def b(self) -> float:
        return (1.0 - self.mean) * self.strength

    def flipped(self) -> Prior:
        """The prior of 1 - p: bounds on failures give the other side of p."""
        return Prior(1.0 - self.mean, self.strength)


def log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def log_beta_cdf(x: float, a: float, b: float) -> tuple[float, float]:
    """(log I_x(a, b), log(1 - I_x(a, b))), each side accurate even when tiny."""
    if x <= 0.0:
        return -math.inf, 0.0
    if x >= 1.0:
        return 0.0, -math.inf
    front = a * math.log(x) + b * math.log1p(-x) - log_beta(a, b)
    return _log_beta_sides(x, a, b, front)


def log_evalue_above(successes: int, trials: int, threshold: float, prior: Prior) -> float:
    """log E_n(t): the evidence against "p <= threshold" (large means p is above it)."""
    _check_counts(successes, trials)
    return _Evidence(successes, trials, prior, 0.0)(math.log(threshold))[0]


# Cached: a gate looks at the same counts again and again (several gates share a
# bound; a quiet minute adds nothing; simulations repeat counts thousands of times).
@lru_cache(maxsize=32_768)
def lower_bound(successes: int, trials: int, alpha: float, prior: Prior) -> float:
    """L_n: P(the true p is below L_n at any n) <= alpha. 0 with no successes.

    Solves log E_n(t) = log(1/alpha) for t below S/n, by Newton's method in
    u = log t (where the curve is close to a line), safeguarded by a bracket.
    """
    _check_counts(successes, trials)
    _check_alpha(alpha)
    if successes == 0:
        return 0.0
    excess = _Evidence(successes, trials, prior, -math.log(alpha))
    # E_n(S/n) <= 1 (no mixture beats the likelihood at its maximum): S/n is inside.
    inside = math.log(successes / trials)
    # First guess: the normal approximation's distance. Newton's steps then close in;
    # from inside they aim just past the root, so the last point is always outside.
    failures = trials - successes
    spread = math.sqrt((2.0 * excess.level + math.log1p(trials)) * (failures + 1) / trials
                       / successes)
    x, outside = inside - spread, -math.inf
    for _ in range(_MAX_STEPS):
        value, slope = excess(x)
        if value >= 0.0:
            outside = x
        else:
            inside = x
        if inside - outside <= _TOLERANCE:
            break
        # Out of the model (a non-decreasing stretch), fall back to halving the bracket.
        newton = x - value / slope if slope < 0.0 else -math.inf
        if value >= 0.0 and newton - x <= _TOLERANCE:
            break  # an outside point within _TOLERANCE of the root
        if value < 0.0:
            newton -= _TOLERANCE
        if outside == -math.inf:
            x = max(newton, x - _MAX_JUMP)
        else:
            x = newton if outside < newton < inside else (outside + inside) / 2.0
    return math.exp(outside)


def upper_bound(successes: int, trials: int, alpha: float, prior: Prior) -> float:
    """U_n: P(the true p is above U_n at any n) <= alpha. 1 with no trials."""
    _check_counts(successes, trials)
    return 1.0 - lower_bound(trials - successes, trials, alpha, prior.flipped())


@lru_cache(maxsize=4_096)
def upper_quantile_rank(trials: int, quantile: float, alpha: float, prior: Prior) -> int | None:
    """The rank k (1-based, ascending) whose order statistic bounds a quantile from above.

    Of n i.i.d. values, the number strictly below their q-quantile xi is at most
    Binomial(n, q). k_n is the smallest count that rejects "P(X < xi) <= q", so
    P(some n has X_(k_n) < xi) <= alpha: X_(k_n) is an upper bound of xi valid at
    every look. None while even k = n would not be evidence enough.
    """
    if trials <= 0:
        return None
    level = -math.log(alpha)

    def rejects(rank: int) -> bool:
        return log_evalue_above(rank, trials, quantile, prior) >= level

    if not rejects(trials):
        return None
    # Above q*n each extra success multiplies E_n(q) by at least
    # (a + S) / (b + F - 1) * (1 - q) / q >= 1, so the answer is one crossing: gallop
    # from the normal approximation's guess to bracket it, then bisect.
    low = max(1, math.ceil(quantile * trials))
    spread = math.sqrt((2.0 * level + math.log1p(trials)) * trials * quantile * (1 - quantile))
    guess = min(trials, max(low, math.ceil(quantile * trials + spread)))
    step, high = 1, trials
    if rejects(guess):
        high = guess
        while high - step >= low and rejects(high - step):
            high, step = high - step, step * 2
        low = max(low, high - step + 1)
    else:
        low = guess + 1
        while low + step - 1 < trials and not rejects(low + step - 1):
            low, step = low + step, step * 2
        high = min(trials, low + step - 1)
    while low < high:
        middle = (low + high) // 2
        if rejects(middle):
            high = middle
        else:
            low = middle + 1
    return low


class _Evidence:
    """u -> (log E_n(e^u) - level, its derivative in u), with the constants hoisted."""

    def __init__(self, successes: int, trials: int, prior: Prior, level: float) -> None:
        self.successes, self.failures, self.level = successes, trials - successes, level
        a, b = prior.a, prior.b
        self.posterior = (a + successes, b + self.failures, log_beta(a + successes,
                                                                        b + self.failures))
        self.prior = (a, b, log_beta(a, b))
        self.constant = self.posterior[2] - self.prior[2] - level

    def __call__(self, u: float) -> tuple[float, float]:
        t = math.exp(u)
        log_rest = math.log1p(-t)
        value = self.constant - self.successes * u - self.failures * log_rest
        slope = -self.successes + self.failures * t / (1.0 - t)
        # The truncation terms log(1 - I_t(.)), for posterior (+) and prior (-);
        # d/du log(1 - I_t(a, b)) = -t * density(t) / (1 - I_t(a, b)).
        for sign, (a, b, log_b) in ((1.0, self.posterior), (-1.0, self.prior)):
            front = a * u + b * log_rest - log_b
            upper = _log_beta_sides(t, a, b, front)[1]
            value += sign * upper
            slope -= sign * math.exp(front - log_rest - upper)
        return value, slope


def _log_beta_sides(x: float, a: float, b: float, front: float) -> tuple[float, float]:
    """(log I_x, log(1 - I_x)) given front = a log x + b log(1-x) - log B(a, b)."""
    # The continued fraction converges fast on the side of the mean x lies on;
    # the other side comes from the complement (Numerical Recipes, betai).
    if x < (a + 1.0) / (a + b + 2.0):
        lower = front + math.log(_beta_fraction(a, b, x) / a)
        return lower, _log1m_exp(lower)
    upper = front + math.log(_beta_fraction(b, a, 1.0 - x) / b)
    return _log1m_exp(upper), upper


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), by the modified Lentz method.

    Written out flat: it is the innermost loop of every bound.
    """
    tiny = _TINY
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if d > tiny or d < -tiny else tiny)
    result = d
    for m in range(1, _FRACTION_TERMS + 1):
        two_m = 2 * m
        even = m * (b - m) * x / ((a + two_m - 1.0) * (a + two_m))
        d = 1.0 + even * d
        d = 1.0 / (d if d > tiny or d < -tiny else tiny)
        c = 1.0 + even / c
        c = c if c > tiny or c < -tiny else tiny
        result *= c * d
        odd = -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1.0))
        d = 1.0 + odd * d
        d = 1.0 / (d if d > tiny or d < -tiny else tiny)
        c = 1.0 + odd / c
        c = c if c > tiny or c < -tiny else tiny
        step = c * d
        result *= step
        if -_FRACTION_PRECISION < step - 1.0 < _FRACTION_PRECISION:
            return result
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def _log1m_exp(value: float) -> float:
    """log(1 - exp(value)) for value <= 0, accurate at both ends."""
    if value >= 0.0:
        return -math.inf
    if value > -math.log(2.0):
        return math.log(-math.expm1(value))
    return math.log1p(-math.exp(value))


def _check_counts(successes: int, trials: int) -> None:
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
