"""Min/max per pixel bucket, so a 24 h trace at 100 ms draws (and weighs) like a short one.

A bucket keeps its lowest and highest value: a spike or a sawtooth trough survives, which an
average or every-Nth-sample thinning would hide.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    first_s: float  # time of the first and last known sample in the bucket
    last_s: float
    low: int
    high: int
    last: int  # the latest value: what a step line (limit, threshold) shows


def envelope(
    points: Sequence[tuple[float, int]], start_s: float, end_s: float, buckets: int
) -> list[Bucket]:
    """Buckets over [start_s, end_s] holding at least one point; empty buckets are left out."""
    if not points:
        return []
    span_s = max(end_s - start_s, 1e-9)
    out: list[Bucket] = []
    current = -1
    first_s = last_s = 0.0
    low = high = last = 0
    for time_s, value in points:
        index = min(max(int((time_s - start_s) / span_s * buckets), 0), buckets - 1)
        if index != current:
            if current >= 0:
                out.append(Bucket(first_s, last_s, low, high, last))
            current, first_s, low, high = index, time_s, value, value
        low, high = min(low, value), max(high, value)
        last_s, last = time_s, value
    out.append(Bucket(first_s, last_s, low, high, last))
    return out


def gap_threshold_s(times_s: Sequence[float]) -> float:
    """A pause longer than this between known samples breaks the line (monitor stopped,
    figure unreadable for a while) instead of drawing a straight bridge across it."""
    if len(times_s) < 2:
        return float("inf")
    step = max(1, len(times_s) // 2000)  # the median of a thinned sample is as good and cheap
    deltas = [b - a for a, b in zip(times_s[::step], times_s[step::step], strict=False)]
    typical_s = statistics.median(deltas) / step if deltas else 0.0
    return max(typical_s * 5, 1e-6)


def runs(buckets: Sequence[Bucket], gap_s: float) -> list[list[Bucket]]:
    """Split buckets into runs with no gap longer than `gap_s` between them."""
    out: list[list[Bucket]] = []
    for bucket in buckets:
        if out and bucket.first_s - out[-1][-1].last_s <= gap_s:
            out[-1].append(bucket)
        else:
            out.append([bucket])
    return out
