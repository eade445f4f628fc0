"""Robust trend of a memory series: is it leaking, how fast, and when will it hit the limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Trend:
    leaking: bool
    rate_bytes_per_h: float  # Theil-Sen slope of the series' floor
    rate_low_bytes_per_h: float  # confidence interval of the slope
    rate_high_bytes_per_h: float
    p_value: float | None  # Mann-Kendall significance of the upward trend
    eta_s: float | None  # seconds until the fitted floor reaches limit_bytes; None if not rising
    samples: int
    window_s: float
    intercept_bytes: float  # fitted floor at times_s[-1] (the latest time)


def fit_trend(
    times_s: Sequence[float],
    values_bytes: Sequence[int],
    *,
    limit_bytes: int | None = None,
) -> Trend | None:
    """None when there are too few samples to say anything."""
    raise NotImplementedError
