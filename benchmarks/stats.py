"""The few statistics a benchmark report needs. Plain Python, no Django."""

from __future__ import annotations

import math
from collections.abc import Sequence


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def stddev(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1), as llama-bench reports it; None below two values."""
    if len(values) < 2:
        return None
    centre = sum(values) / len(values)
    return math.sqrt(sum((v - centre) ** 2 for v in values) / (len(values) - 1))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values
    at or below it. Always an observed value, never an interpolation between two calls:
    with 20 calls, p95 is the 19th slowest."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def rate(part: int, whole: int) -> float | None:
    """A percentage, or None when there is nothing to divide by."""
    return 100.0 * part / whole if whole else None
