"""Synthetic memory series (time-compressed traces) for tests, benches and demos.

Every generator returns (times_s, values_bytes) sampled every `interval_s`; values are
rounded to 4 KiB pages like real RSS, so flat stretches contain exact ties.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

MiB = 1024 * 1024
PAGE_BYTES = 4096

Shape = Callable[[float], float]


def series(
    shape: Shape,
    *,
    duration_s: float,
    interval_s: float = 1.0,
    noise_bytes: float = 0.0,
    seed: int = 1,
) -> tuple[list[float], list[int]]:
    rng = random.Random(seed)
    times = [i * interval_s for i in range(int(duration_s / interval_s) + 1)]
    values = [
        int((shape(t) + rng.gauss(0.0, noise_bytes)) // PAGE_BYTES) * PAGE_BYTES
        if noise_bytes
        else int(shape(t) // PAGE_BYTES) * PAGE_BYTES
        for t in times
    ]
    return times, values


def linear(base_bytes: float, rate_bytes_per_s: float) -> Shape:
    return lambda t: base_bytes + rate_bytes_per_s * t


def sawtooth(period_s: float, swing_bytes: float, phase_s: float = 0.0) -> Shape:
    """Rises by swing_bytes over one period, then drops back (a GC / request-batch cycle)."""
    return lambda t: swing_bytes * (((t + phase_s) % period_s) / period_s)


def plateau(height_bytes: float, time_constant_s: float) -> Shape:
    """Warm-up: rises quickly, then levels off (imports, pools, JIT-ish caches)."""
    return lambda t: height_bytes * (1.0 - math.exp(-t / time_constant_s))


def bounded(rate_bytes_per_s: float, bound_bytes: float) -> Shape:
    """A cache filling linearly until its bound, then flat."""
    return lambda t: min(bound_bytes, rate_bytes_per_s * t)


def spikes(period_s: float, length_s: float, height_bytes: float) -> Shape:
    """A batch job every period: height_bytes more for length_s, then released."""
    return lambda t: height_bytes if (t % period_s) < length_s else 0.0


def add(*shapes: Shape) -> Shape:
    return lambda t: sum(shape(t) for shape in shapes)
