"""LeakDetector: feed it one sample at a time; it keeps a bounded, trough-preserving history
and tells you when its verdict changes.

Memory is bounded: at most `max_points` buckets; each keeps its minimum (with the time of the
minimum) so troughs survive. When the buckets run out, neighbours merge and the resolution
doubles, so hours of history fit in a few hundred points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memwarden.leak.trend import Trend, fit_trend

MiB = 1024 * 1024
CLEAR_ALPHA = 0.05  # a leaking verdict is cleared only when the rise is no longer this clear


@dataclass(slots=True)
class _Bucket:
    start_s: float
    min_time_s: float
    min_value: float
    max_value: float


@dataclass(slots=True)
class LeakDetector:
    """Verdict flips need `confirm` agreeing evaluations in a row (one per closed bucket)."""

    resolution_s: float = 2.0  # initial bucket width; doubles as history grows
    max_points: int = 240
    max_window_s: float = 6 * 3600.0  # older history is forgotten
    min_window_s: float = 300.0  # no verdict on less history than this
    confirm: int = 3
    limit_bytes: int | None = None
    alpha: float = 0.01
    min_growth_bytes: float = MiB
    min_growth_fraction: float = 0.01
    _buckets: list[_Bucket] = field(default_factory=list)
    _current: _Bucket | None = None
    _leaking: bool = False
    _streak: int = 0
    _trend: Trend | None = None
    _samples: int = 0

    @property
    def leaking(self) -> bool:
        return self._leaking

    @property
    def trend(self) -> Trend | None:
        """The latest evaluation (also between verdict changes)."""
        return self._trend

    @property
    def samples(self) -> int:
        return self._samples

    def add(self, time_s: float, value: float, *, limit_bytes: int | None = None) -> Trend | None:
        """Record one sample; return the Trend when the verdict flips (to leaking or back)."""
        self._samples += 1
        if limit_bytes is not None:
            self.limit_bytes = limit_bytes
        current = self._current
        if current is not None and time_s < current.start_s + self.resolution_s:
            if value < current.min_value:
                current.min_value, current.min_time_s = value, time_s
            current.max_value = max(current.max_value, value)
            return None
        if current is not None:
            self._buckets.append(current)
        self._current = _Bucket(time_s, time_s, value, value)
        if current is None:
            return None
        self._compact(time_s)
        return self._evaluate()

    def series(self) -> tuple[list[float], list[float]]:
        """The decimated history (time of each bucket's minimum, the minimum)."""
        buckets = [*self._buckets, *([self._current] if self._current else [])]
        return [b.min_time_s for b in buckets], [b.min_value for b in buckets]

    def evaluate(self) -> Trend | None:
        """Fit now on everything recorded (without touching the verdict state)."""
        times, values = self.series()
        return self._fit(times, values)

    def _fit(self, times: list[float], values: list[float]) -> Trend | None:
        return fit_trend(
            times,
            [int(v) for v in values],
            limit_bytes=self.limit_bytes,
            alpha=self.alpha,
            min_growth_bytes=self.min_growth_bytes,
            min_growth_fraction=self.min_growth_fraction,
            min_window_s=self.min_window_s,
        )

    def _compact(self, now_s: float) -> None:
        horizon_s = now_s - self.max_window_s
        while self._buckets and self._buckets[0].start_s < horizon_s:
            self._buckets.pop(0)
        if len(self._buckets) <= self.max_points:
            return
        merged: list[_Bucket] = []
        for i in range(0, len(self._buckets) - 1, 2):
            a, b = self._buckets[i], self._buckets[i + 1]
            low = a if a.min_value <= b.min_value else b
            merged.append(
                _Bucket(a.start_s, low.min_time_s, low.min_value, max(a.max_value, b.max_value))
            )
        if len(self._buckets) % 2:
            merged.append(self._buckets[-1])
        self._buckets = merged
        self.resolution_s *= 2

    def _evaluate(self) -> Trend | None:
        times = [b.min_time_s for b in self._buckets]
        values = [b.min_value for b in self._buckets]
        trend = self._fit(times, values)
        if trend is None:
            return None
        self._trend = trend
        if self._verdict(trend) == self._leaking:
            self._streak = 0
            return None
        self._streak += 1
        # Clearing takes longer than raising: a leak's noisy floor dips now and then.
        if self._streak < (self.confirm * 4 if self._leaking else self.confirm):
            return None
        self._streak = 0
        self._leaking = not self._leaking
        return trend

    def _verdict(self, trend: Trend) -> bool:
        """Hysteresis: once leaking, a still-rising floor (looser test) keeps the verdict, so
        one noisy evaluation does not clear it."""
        if trend.leaking or not self._leaking:
            return trend.leaking
        return (
            trend.p_value is not None
            and trend.p_value < CLEAR_ALPHA
            and (trend.recent_rate_bytes_per_h or 0.0) > 0
        )
