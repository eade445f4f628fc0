"""Straightforward reference implementations of the leak fit's pair statistics (O(n²) loops)
and trough search (a walk over every window), as they were before the fast versions: the
equivalence test checks the fast ones against these, and bench/leak_fit_bench.py times both.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from memwarden.leak import trend
from memwarden.leak.stats import (
    Z_95_TWO_SIDED,
    MannKendall,
    SenSlope,
    _median,
    _median_sorted,
    _normal_sf,
)

MAX_SLOPES = 6000


def mann_kendall(values: Sequence[float]) -> MannKendall:
    n = len(values)
    s = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            d = values[j] - values[i]
            s += (d > 0) - (d < 0)
    counts: dict[float, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    ties = sum(t * (t - 1) * (2 * t + 5) for t in counts.values() if t > 1)
    variance = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    if variance <= 0 or s <= 0:
        return MannKendall(s, max(variance, 0.0), 1.0 if s <= 0 else 0.5)
    return MannKendall(s, variance, _normal_sf((s - 1) / math.sqrt(variance)))


def theil_sen(xs: Sequence[float], ys: Sequence[float], variance: float | None = None) -> SenSlope:
    n = len(xs)
    pairs = n * (n - 1) // 2
    stride = max(1, math.ceil(pairs / MAX_SLOPES))
    slopes: list[float] = []
    k = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            k += 1
            if k % stride:
                continue
            dx = xs[j] - xs[i]
            if dx > 0:
                slopes.append((ys[j] - ys[i]) / dx)
    if not slopes:
        return SenSlope(0.0, 0.0, 0.0, _median(list(ys)) if ys else 0.0)
    slopes.sort()
    slope = _median_sorted(slopes)
    count = len(slopes)
    if variance is None:
        variance = n * (n - 1) * (2 * n + 5) / 18.0
    c = Z_95_TWO_SIDED * math.sqrt(max(variance, 0.0)) * count / max(1, pairs)
    low_rank = max(0, math.floor((count - c) / 2) - 1)
    high_rank = min(count - 1, math.ceil((count + c) / 2))
    intercept = _median([y - slope * x for x, y in zip(xs, ys, strict=True)])
    return SenSlope(slope, slopes[low_rank], slopes[high_rank], intercept)


def trough_points(
    times: Sequence[float], values: Sequence[float], width_s: float, min_fall: float = 0.0
) -> tuple[list[float], list[float]]:
    n = len(times)
    step_s = width_s / trend.STEPS_PER_WINDOW
    window: deque[int] = deque()
    picked: list[int] = []
    right = left = 0
    start = times[0]
    while start + width_s <= times[-1] + 1e-9:
        while right < n and times[right] < start + width_s:
            while window and values[window[-1]] >= values[right]:
                window.pop()
            window.append(right)
            right += 1
        while left < n and times[left] < start:
            left += 1
        while window and window[0] < left:
            window.popleft()
        if window and values[left] - values[window[0]] >= min_fall:
            picked.append(window[0])
        start += step_s
    picked = sorted(set(picked))
    return [times[i] for i in picked], [values[i] for i in picked]


@contextmanager
def reference_fit() -> Iterator[None]:
    """fit_trend (and so LeakDetector) running on the reference loops."""
    saved = trend.mann_kendall, trend.theil_sen, trend.trough_points
    trend.mann_kendall, trend.theil_sen = mann_kendall, theil_sen
    trend.trough_points = trough_points
    try:
        yield
    finally:
        trend.mann_kendall, trend.theil_sen, trend.trough_points = saved
