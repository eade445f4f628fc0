"""Small, pure-Python robust statistics: Theil–Sen slope with Sen's interval, Mann–Kendall.

Inputs are kept to a few hundred points by the callers (trend.py decimates). The leak detector
fits every few seconds, so the loops run in C where they can: Mann–Kendall's S counts with
bisect in O(n log n), Theil–Sen's kept pairs come out of strided slices.
"""

from __future__ import annotations

import itertools
import math
import operator
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence

from memwarden.record import record

Z_95_TWO_SIDED = 1.959963984540054
MAX_SLOPES = 6000  # pairwise slopes kept by theil_sen (a strided sample beyond this)


@record
class MannKendall:
    s: int
    variance: float  # with the tie correction; 0 when every value is equal
    p_up: float  # one-sided p-value of "the series rises"


@record
class SenSlope:
    slope: float  # units of y per unit of x
    low: float  # 95 % confidence interval (Sen 1968, from the Mann–Kendall variance)
    high: float
    intercept: float  # median of y - slope * x


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_kendall(values: Sequence[float]) -> MannKendall:
    """Mann–Kendall trend test with the tie correction: a flat series (all ties) gives p = 1."""
    n = len(values)
    # S = sum over pairs i < j of sign(v_j - v_i): for each j, the earlier values below it
    # minus those above it (equal ones count neither way, as sign(0) = 0).
    s = 0
    earlier: list[float] = []  # kept sorted
    for j, value in enumerate(values):
        s += bisect_left(earlier, value) - (j - bisect_right(earlier, value))
        insort(earlier, value)
    counts: dict[float, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    ties = sum(t * (t - 1) * (2 * t + 5) for t in counts.values() if t > 1)
    variance = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    if variance <= 0 or s <= 0:
        return MannKendall(s, max(variance, 0.0), 1.0 if s <= 0 else 0.5)
    z = (s - 1) / math.sqrt(variance)  # continuity correction
    return MannKendall(s, variance, _normal_sf(z))


def theil_sen(xs: Sequence[float], ys: Sequence[float], variance: float | None = None) -> SenSlope:
    """Median of pairwise slopes; the interval uses the Mann–Kendall variance (ties included)."""
    n = len(xs)
    pairs = n * (n - 1) // 2
    # Every stride-th pair only: the slopes list is the fit's largest temporary (28k floats at
    # 240 points), and a guardian that makes it every few seconds must not grow by it.
    stride = max(1, math.ceil(pairs / MAX_SLOPES))
    # A flat series (an idle process's RSS) has every kept slope 0.0: only count them.
    flat = n > 0 and math.isfinite(ys[0]) and ys.count(ys[0]) == n
    slopes: list[float] = []
    done = 0  # pairs (i, j) numbered 1, 2, ... row by row; a multiple of stride is kept
    for i in range(n - 1):
        xi, yi = xs[i], ys[i]
        first = i + 1 + (-done - 1) % stride  # the row's first kept j
        if flat:
            slopes += [0.0] * sum(map(operator.gt, xs[first::stride], itertools.repeat(xi)))
        else:
            slopes += [
                (yj - yi) / dx
                for xj, yj in zip(xs[first::stride], ys[first::stride], strict=True)
                if (dx := xj - xi) > 0
            ]
        done += n - 1 - i
    if not slopes:
        return SenSlope(0.0, 0.0, 0.0, _median(list(ys)) if ys else 0.0)
    slopes.sort()
    slope = _median_sorted(slopes)
    count = len(slopes)
    if variance is None:
        variance = n * (n - 1) * (2 * n + 5) / 18.0
    # Sen's ranks (N - C) / 2 and (N + C) / 2 over all N pairs, as shares of the pairs kept.
    c = Z_95_TWO_SIDED * math.sqrt(max(variance, 0.0)) * count / max(1, pairs)
    low_rank = max(0, math.floor((count - c) / 2) - 1)
    high_rank = min(count - 1, math.ceil((count + c) / 2))
    intercept = _median([y - slope * x for x, y in zip(xs, ys, strict=True)])
    return SenSlope(slope, slopes[low_rank], slopes[high_rank], intercept)


def _median_sorted(values: Sequence[float]) -> float:
    mid = len(values) // 2
    return float(values[mid]) if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def _median(values: list[float]) -> float:
    return _median_sorted(sorted(values)) if values else 0.0


def median(values: Sequence[float]) -> float:
    return _median(list(values))
