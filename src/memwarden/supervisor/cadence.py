"""When to sample a program next: a rate that follows the danger, not a fixed tick.

The configured `interval` is the fastest rate, used near a threshold. Far from one, the next
sample can wait until the fastest plausible allocation (`max_alloc_rate`, 2 GB/s by default:
one Python process here allocates ~1.7 GB/s) could close the gap to the next threshold:
`gap / max_alloc_rate`, at most `SLOWEST_FACTOR` intervals and, while the tree moves, never
slower than LEAK_POINTS_PER_WINDOW samples per leak window (1 s for the default 1 min: the
rate the guardian feeds the same detector, which decides at most every window / 12). A tree
that did not move since the last sample (the same processes with the same figures) is
sampled at the slowest rate: a flat stretch tells the leak detector nothing a
second point would, and the first sample that sees a change brings the leak pace back.
When kernel events watch
every threshold ahead (an owned v1 cgroup's eventfds), the poll is only their backup and runs
at the slowest rate. While a tier change is pending (`sustain`) or the program is at critical
(`critical_timeout` counts time), the interval applies.

Between full samples the loop reads only the tree (kept fds); limits, memory.stat, meminfo
and PSI are refreshed every FULL_EVERY slowest intervals as if there were no leak window
(20 s at the default 100 ms: the leak window's faster cadence is for its detector, which
takes the tree alone), on the first sample and on every event that asks.
"""

from __future__ import annotations

SLOWEST_FACTOR = 20  # 100 ms -> 2 s
LEAK_POINTS_PER_WINDOW = 60
FULL_EVERY = 10  # slowest intervals (uncapped) between full samples


def slowest_interval_s(interval_s: float, leak_window_s: float | None, *,
                       still: bool = False) -> float:
    """still: the last sample found the tree as it was (the leak window does not cap it)."""
    slowest_s = interval_s * SLOWEST_FACTOR
    if leak_window_s is not None and not still:
        slowest_s = min(slowest_s, max(interval_s, leak_window_s / LEAK_POINTS_PER_WINDOW))
    return slowest_s


def full_every_s(interval_s: float) -> float:
    """The time between full samples: FULL_EVERY slowest intervals, leak window or not."""
    return slowest_interval_s(interval_s, None) * FULL_EVERY


def next_interval_s(*, interval_s: float, slowest_s: float, gap_bytes: int | None,
                    max_alloc_rate_bytes_per_s: int) -> float:
    """The delay before the next sample. gap_bytes: to the nearest threshold ahead that only
    the poll watches; None when there is none (events watch them, or none is left above)."""
    if gap_bytes is None:
        return slowest_s
    if gap_bytes <= 0:
        return interval_s
    return min(slowest_s, max(interval_s, gap_bytes / max_alloc_rate_bytes_per_s))
