"""LeakDetector: feed it one sample at a time; it keeps a bounded, trough-preserving history
and tells you when its verdict changes.

Memory is bounded: at most `max_points` buckets; each keeps its minimum (with the time of the
minimum) so troughs survive. When the buckets run out, neighbours merge and the resolution
doubles, so hours of history fit in a few hundred points.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from array import array

from memwarden.leak.trend import MIN_FLOOR_POINTS, Trend, fit_trend
from memwarden.record import field, mutable_record

MiB = 1024 * 1024
EVALS_PER_WINDOW = 12  # a fit costs ~1-3 ms: at most one per min_window / 12 (5 s by default)
SUFFIX_FACTORS = (1, 2, 4)  # recent stretches tried, in units of min_window
CLEAR_ALPHA = 0.05  # a leaking verdict is cleared only when the rise is no longer this clear


@mutable_record
class LeakDetector:
    """Verdict flips need `confirm` agreeing evaluations in a row (one per closed bucket)."""

    resolution_s: float = 2.0  # initial bucket width; doubles as history grows
    max_points: int = 240
    max_window_s: float = 6 * 3600.0  # older history is forgotten
    min_window_s: float = 60.0  # no verdict on less history (the start-up grace)
    warmup_s: float = 0.0  # samples this soon after the first are start-up, not judged
    confirm: int = 3
    limit_bytes: int | None = None
    alpha: float = 0.01
    min_growth_bytes: float = MiB
    min_growth_fraction: float = 0.01
    # Closed buckets: start, time of the minimum, minimum. Flat arrays, not an object per
    # bucket: small objects made each second between a fit's temporaries pin pymalloc pools,
    # and the guardian's RSS crept ~0.2 MiB/min that way.
    _starts: array[float] = field(default_factory=lambda: array("d"))
    _min_times: array[float] = field(default_factory=lambda: array("d"))
    _mins: array[float] = field(default_factory=lambda: array("d"))
    _current: list[float] = field(default_factory=list)  # the open bucket, same three
    _leaking: bool = False
    _streak: int = 0
    _trend: Trend | None = None
    _samples: int = 0
    _first_s: float | None = None
    _evaluated_s: float = float("-inf")
    # The history of an evaluation that was not fitted (it could not rise): fitted when
    # `trend` is read, so the Trend is the one that evaluation would have made.
    _unfitted: tuple[array[float], array[float]] | None = None

    @property
    def leaking(self) -> bool:
        return self._leaking

    @property
    def may_be_rising(self) -> bool:
        """False while the latest evaluation found a history that never rises: its Trend,
        fitted only when `trend` is read, has Mann-Kendall S <= 0 (p >= 0.5), so a caller
        asking only "is a rise suspected?" need not fit it."""
        return self._unfitted is None

    @property
    def trend(self) -> Trend | None:
        """The latest evaluation (also between verdict changes)."""
        if self._unfitted is not None:
            times, values = self._unfitted
            self._unfitted = None
            trend = self._fit(times.tolist(), values.tolist())
            if trend is not None:  # never None: _cannot_rise asks for enough history
                self._trend = trend
        return self._trend

    @property
    def samples(self) -> int:
        return self._samples

    def add(self, time_s: float, value: float, *, limit_bytes: int | None = None) -> Trend | None:
        """Record one sample; return the Trend when the verdict flips (to leaking or back)."""
        self._samples += 1
        if limit_bytes is not None:
            self.limit_bytes = limit_bytes
        if self._first_s is None:
            self._first_s = time_s
        if time_s < self._first_s + self.warmup_s:
            return None  # imports, pools and caches filling at start-up
        current = self._current
        if current and time_s < current[0] + self.resolution_s:
            if value < current[2]:
                current[1], current[2] = time_s, value
            return None
        if not current:
            current.extend((time_s, time_s, value))
            return None
        self._starts.append(current[0])
        self._min_times.append(current[1])
        self._mins.append(current[2])
        current[0] = current[1] = time_s
        current[2] = value
        self._compact(time_s)
        every_s = max(self.resolution_s, self.min_window_s / EVALS_PER_WINDOW)
        if time_s - self._evaluated_s < every_s:
            return None
        self._evaluated_s = time_s
        return self._evaluate()

    def series(self) -> tuple[list[float], list[float]]:
        """The decimated history (time of each bucket's minimum, the minimum)."""
        times, values = self._min_times.tolist(), self._mins.tolist()
        if self._current:
            times.append(self._current[1])
            values.append(self._current[2])
        return times, values

    def evaluate(self) -> Trend | None:
        """Fit now on everything recorded (without touching the verdict state)."""
        times, values = self.series()
        return self._fit(times, values)

    def _fit(self, times: list[float], values: list[float]) -> Trend | None:
        """The whole history, then its recent stretches (min_window, 2x, 4x): a leak that began
        after a long flat past shows in a recent stretch long before it tilts the whole. Not
        when the history falls now and then (a sawtooth, batches): a stretch shorter than its
        cycles would see a ramp."""
        trend = self._fit_one(times, values)
        if trend is None or trend.leaking or trend.drops:
            return trend
        span_s = times[-1] - times[0]
        for factor in SUFFIX_FACTORS:
            length_s = self.min_window_s * factor
            if length_s >= span_s:
                break
            start = bisect.bisect_left(times, times[-1] - length_s)
            recent = self._fit_one(times[start:], values[start:])
            # Only a change of pace counts: a warm-up that slows down rises more slowly in
            # any recent stretch than over its whole history.
            if (recent is not None and recent.leaking
                    and recent.rate_bytes_per_h > trend.rate_bytes_per_h):
                return recent
        return trend

    def _fit_one(self, times: list[float], values: list[float]) -> Trend | None:
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
        old = bisect.bisect_left(self._starts, horizon_s)
        if old:
            del self._starts[:old], self._min_times[:old], self._mins[:old]
        count = len(self._starts)
        if count <= self.max_points:
            return
        starts, times, mins = array("d"), array("d"), array("d")
        for i in range(0, count - 1, 2):
            low = i if self._mins[i] <= self._mins[i + 1] else i + 1
            starts.append(self._starts[i])
            times.append(self._min_times[low])
            mins.append(self._mins[low])
        if count % 2:
            starts.append(self._starts[-1])
            times.append(self._min_times[-1])
            mins.append(self._mins[-1])
        self._starts, self._min_times, self._mins = starts, times, mins
        self.resolution_s *= 2

    def _evaluate(self) -> Trend | None:
        if not self._leaking and self._cannot_rise():
            # Every fit would say "not leaking" (see _cannot_rise): the verdict stands and the
            # agreeing evaluation resets the streak, as a fit would. The fit itself waits
            # until its Trend is asked for (an idle process is never fitted).
            self._streak = 0
            self._unfitted = (array("d", self._min_times), array("d", self._mins))
            return None
        times, values = self._min_times.tolist(), self._mins.tolist()
        trend = self._fit(times, values)
        if trend is None:
            return None  # an unfitted evaluation before this one stays the latest Trend
        self._unfitted = None
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

    def _cannot_rise(self) -> bool:
        """True when the history never rises (an idle process: it stays flat or falls), with
        strictly increasing times and finite values, and enough of it to be fitted. Then the
        whole history and each recent stretch fit to a Trend that is not leaking: their
        troughs are a subsequence, so no later value exceeds an earlier one, Mann-Kendall's S
        is at most 0, p = 1 and the verdict fails its p < alpha test (alpha <= 1)."""
        times, mins = self._min_times, self._mins
        if len(times) < MIN_FLOOR_POINTS or not 0 < self.alpha <= 1:
            return False
        if not (math.isfinite(mins[0]) and math.isfinite(mins[-1])):
            return False
        later = itertools.islice(mins, 1, None)
        if not all(map(operator.ge, mins, later)):  # NaN compares False: not skipped
            return False
        return all(map(operator.lt, times, itertools.islice(times, 1, None)))

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
