"""Robust trend of a memory series: is it leaking, how fast, and when will it hit the limit.

A healthy service's memory is a sawtooth (allocate, collect, allocate). What leaks is the
*floor*: the post-GC minima. So the series is reduced to its troughs (the minimum of sliding
windows at least one sawtooth period wide; the width is chosen from the data), and the troughs
get a Theil–Sen slope (robust to ~29 % outliers) and a Mann–Kendall test (tie-corrected, so a
flat series quantised to pages is never "rising"). A leak must also still be rising in the
recent half of the window, which keeps a warm-up or a cache filling to its bound from being
called a leak once it has levelled off.

Pure Python, no numpy: inputs are decimated to at most a few hundred points first.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections import deque
from collections.abc import Sequence

from memwarden.leak.stats import mann_kendall, median, theil_sen
from memwarden.record import fields, record

MIN_FLOOR_POINTS = 8  # below this, a Mann–Kendall test cannot be convincing at alpha=0.01
MAX_INPUT_POINTS = 600  # longer series are decimated to per-group minima first
WINDOW_COUNTS = (48, 32, 24, 16, 12, 9)  # candidate trough-window widths: span / count
STEPS_PER_WINDOW = 4  # sliding windows advance by a quarter of their width
MIN_CYCLES = 4  # a series that drops at all must show this many drops (cycles) first
DROP_RANGE_FRACTION = 0.3  # a drop: a fall of this share of the series' range (p95 - p5) ...
DROP_NOISE_FACTOR = 6.0  # ... and of this many typical sample-to-sample steps
SNR_MIN = 2.0  # growth over the window vs the floor's scatter around the fitted line
RECENT_ALPHA = 0.05
RECENT_MIN_SLOPE_RATIO = 0.7  # recent-half slope vs early-half slope: below it, levelling off


@record
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
    # Added fields (defaults keep older constructors working):
    floor_points: int = 0  # troughs the slope was fitted on
    swing_bytes: float = 0.0  # how far peaks rise above the floor (95th percentile)
    eta_peak_s: float | None = None  # like eta_s, but for the peaks (floor + swing)
    reason: str = ""  # one line: why leaking or not
    recent_rate_bytes_per_h: float | None = None  # slope of the recent half of the floor
    drops: int = 0  # sudden falls seen (sawtooth cycles, batches released)

    def to_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in fields(Trend)}


def _decimate(times: list[float], values: list[float]) -> tuple[list[float], list[float]]:
    """Per-group minima (with the time of the minimum): troughs survive decimation."""
    n = len(times)
    if n <= MAX_INPUT_POINTS:
        return times, values
    group = math.ceil(n / MAX_INPUT_POINTS)
    out_t: list[float] = []
    out_v: list[float] = []
    for start in range(0, n, group):
        chunk = range(start, min(n, start + group))
        best = min(chunk, key=values.__getitem__)
        out_t.append(times[best])
        out_v.append(values[best])
    return out_t, out_v


def trough_points(
    times: Sequence[float], values: Sequence[float], width_s: float, min_fall: float = 0.0
) -> tuple[list[float], list[float]]:
    """Minima of full sliding windows `width_s` wide, each sample kept once. With a width of at
    least one sawtooth period every window holds a trough, so only troughs come out. With
    min_fall, a minimum counts only if the series fell that much to it within the window (a
    post-GC minimum), so a window lying on a ramp gives nothing instead of a mid-ramp point."""
    n = len(times)
    step_s = width_s / STEPS_PER_WINDOW
    end_t = times[-1]
    if min_fall <= 0 and _flat(values) and _ascending(times):
        flat = _flat_troughs(times, width_s, step_s)
        if flat is not None:
            return [times[i] for i in flat], [values[i] for i in flat]
    window: deque[int] = deque()  # indices with increasing values: front is the window's min
    picked: list[int] = []
    right = 0
    start = times[0]
    left = 0
    while start + width_s <= end_t + 1e-9:
        while right < n and times[right] < start + width_s:
            while window and values[window[-1]] >= values[right]:
                window.pop()
            window.append(right)
            right += 1
        while left < n and times[left] < start:
            left += 1
        while window and window[0] < left:
            window.popleft()
        fell = bool(window) and values[left] - values[window[0]] >= min_fall
        if window and fell and (not picked or picked[-1] != window[0]):
            picked.append(window[0])
        start += step_s
    picked = sorted(set(picked))
    return [times[i] for i in picked], [values[i] for i in picked]


def _flat(values: Sequence[float]) -> bool:
    return bool(values) and math.isfinite(values[0]) and values.count(values[0]) == len(values)


def _ascending(times: Sequence[float]) -> bool:
    return all(map(operator.le, times, itertools.islice(times, 1, None)))


def _flat_troughs(times: Sequence[float], width_s: float, step_s: float) -> list[int] | None:
    """trough_points for equal values (an idle process): the walk keeps the latest of equal
    values, so each window's pick is its last sample. Window bounds by bisection, in C."""
    if not 0 < step_s < math.inf:
        return None
    limit_s = times[-1] + 1e-9
    # The starts as the walk's repeated `start += step_s` rounds them, and a few more.
    spare = int((limit_s - times[0]) / step_s) + 8
    starts = list(itertools.accumulate(itertools.repeat(step_s, spare), initial=times[0]))
    ends = [start + width_s for start in starts]  # nondecreasing: the walk's own sums
    last = bisect.bisect_right(ends, limit_s)
    if last == len(ends):
        return None
    lefts = map(bisect.bisect_left, itertools.repeat(times), starts[:last])
    rights = map(bisect.bisect_left, itertools.repeat(times), ends[:last])
    return sorted({right - 1 for left, right in zip(lefts, rights, strict=True) if left < right})


def count_drops(values: Sequence[float]) -> tuple[int, float]:
    """Sudden falls (a GC, a batch released): how many sawtooth cycles the window holds, and
    the fall that counts as a drop."""
    if len(values) < 3:
        return 0, 0.0
    ordered = sorted(values)
    spread = ordered[int(0.95 * (len(ordered) - 1))] - ordered[int(0.05 * (len(ordered) - 1))]
    steps = [abs(b - a) for a, b in itertools.pairwise(values)]
    threshold = max(DROP_RANGE_FRACTION * spread, DROP_NOISE_FACTOR * median(steps))
    if threshold <= 0:
        return 0, 0.0
    return sum(1 for a, b in itertools.pairwise(values) if a - b > threshold), threshold


def _residual_spread(xs: list[float], ys: list[float]) -> float:
    """Median absolute residual of a least-squares line: cheap, only used to pick a width."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return median([abs(y - my - slope * (x - mx)) for x, y in zip(xs, ys, strict=True)])


def floor_series(
    times: Sequence[float], values: Sequence[float], min_fall: float = 0.0
) -> tuple[list[float], list[float]]:
    """The series' troughs at the narrowest window width whose troughs lie on a clean line
    (a width below the sawtooth period lets mid-ramp points in, which scatter)."""
    t, v = _decimate(list(times), [float(x) for x in values])
    span_s = t[-1] - t[0]
    level = abs(median(v)) or 1.0
    candidates: list[tuple[float, list[float], list[float]]] = []
    fewer: tuple[list[float], list[float]] = ([], [])
    for count in WINDOW_COUNTS:
        xs, ys = trough_points(t, v, span_s / count, min_fall)
        if len(xs) >= MIN_FLOOR_POINTS:
            candidates.append((_residual_spread(xs, ys), xs, ys))
        elif len(xs) > len(fewer[0]):
            fewer = (xs, ys)
    if not candidates:  # too few troughs yet: the verdict will say so
        return fewer if fewer[0] else (t, v)
    best = min(spread for spread, _, _ in candidates)
    tolerance = 1.5 * best + 1e-4 * level  # ties go to the narrower width: more points
    for spread, xs, ys in candidates:
        if spread <= tolerance:
            return xs, ys
    return candidates[-1][1], candidates[-1][2]


def fit_trend(
    times_s: Sequence[float],
    values_bytes: Sequence[int],
    *,
    limit_bytes: int | None = None,
    alpha: float = 0.01,
    min_growth_bytes: float = 1024 * 1024,
    min_growth_fraction: float = 0.01,
    min_window_s: float = 0.0,
) -> Trend | None:
    """None when there are too few samples to say anything.

    leaking = the floor rises significantly (Mann–Kendall p < alpha, Sen interval above 0), by
    at least max(min_growth_bytes, min_growth_fraction × floor) over the window, for at least
    min_window_s, and still rises in the recent half of the window.
    """
    if len(times_s) != len(values_bytes):
        raise ValueError(f"times_s has {len(times_s)} points but values_bytes {len(values_bytes)}")
    pairs = sorted(zip(times_s, values_bytes, strict=True))
    if len(pairs) < MIN_FLOOR_POINTS or pairs[-1][0] - pairs[0][0] <= 0:
        return None
    t_last = pairs[-1][0]
    times = [t - t_last for t, _ in pairs]  # relative to the latest time: intercept = "now"
    values = [float(v) for _, v in pairs]
    window_s = times[-1] - times[0]
    drops, drop_bytes = count_drops(_decimate(times, values)[1])
    xs, ys = floor_series(times, values)
    mk = mann_kendall(ys)
    sen = theil_sen(xs, ys, mk.variance)
    leaking, reason, recent_rate = _verdict(
        xs, ys, mk.p_up, sen.slope, sen.low, window_s, sen.intercept, drops,
        alpha=alpha, min_growth_bytes=min_growth_bytes,
        min_growth_fraction=min_growth_fraction, min_window_s=min_window_s,
    )
    if drops >= MIN_CYCLES:
        # A sawtooth: the floor proper is its post-drop minima. Once there are enough of them,
        # they give the less biased rate (the verdict above tolerates mid-ramp points, which
        # lets it decide sooner).
        post_x, post_y = floor_series(times, values, drop_bytes / 2)
        if len(post_x) >= MIN_FLOOR_POINTS:
            xs = post_x
            sen = theil_sen(post_x, post_y, mann_kendall(post_y).variance)
    floor_now = sen.intercept
    residuals = sorted(v - (floor_now + sen.slope * t) for t, v in zip(times, values, strict=True))
    swing = max(0.0, residuals[min(len(residuals) - 1, int(0.95 * len(residuals)))])
    return Trend(
        leaking=leaking,
        rate_bytes_per_h=sen.slope * 3600.0,
        rate_low_bytes_per_h=sen.low * 3600.0,
        rate_high_bytes_per_h=sen.high * 3600.0,
        p_value=mk.p_up,
        eta_s=_eta(limit_bytes, floor_now, sen.slope),
        samples=len(pairs),
        window_s=window_s,
        intercept_bytes=floor_now,
        floor_points=len(xs),
        swing_bytes=swing,
        eta_peak_s=_eta(limit_bytes, floor_now + swing, sen.slope),
        reason=reason,
        recent_rate_bytes_per_h=None if recent_rate is None else recent_rate * 3600.0,
        drops=drops,
    )


def _eta(limit_bytes: int | None, level: float, slope_per_s: float) -> float | None:
    if limit_bytes is None or slope_per_s <= 0:
        return None
    return max(0.0, (limit_bytes - level) / slope_per_s)


def _verdict(
    xs: list[float],
    ys: list[float],
    p_up: float,
    slope: float,
    slope_low: float,
    window_s: float,
    floor_now: float,
    drops: int,
    *,
    alpha: float,
    min_growth_bytes: float,
    min_growth_fraction: float,
    min_window_s: float,
) -> tuple[bool, str, float | None]:
    spread = median([abs(y - (floor_now + slope * x)) for x, y in zip(xs, ys, strict=True)])
    half = len(xs) // 2
    recent_rate = None
    if half >= 4:
        recent_mk = mann_kendall(ys[half:])
        recent_rate = theil_sen(xs[half:], ys[half:], recent_mk.variance).slope
    if len(xs) < MIN_FLOOR_POINTS:
        return False, f"only {len(xs)} floor points (need {MIN_FLOOR_POINTS})", recent_rate
    if window_s < min_window_s:
        return False, f"window {window_s:.0f}s shorter than {min_window_s:.0f}s", recent_rate
    if 0 < drops < MIN_CYCLES:
        # It falls now and then, so it may be one slow sawtooth: a ramp is not a leak yet.
        return False, f"only {drops} drop(s) seen: need {MIN_CYCLES} cycles", recent_rate
    if p_up >= alpha:
        return False, f"no significant rise (Mann-Kendall p={p_up:.3g} >= {alpha})", recent_rate
    if slope_low <= 0:
        return False, "slope interval includes zero", recent_rate
    growth = slope * window_s
    needed = max(min_growth_bytes, min_growth_fraction * abs(floor_now))
    if growth < needed:
        return False, f"floor grew {growth:.0f} over the window, below {needed:.0f}", recent_rate
    if growth < SNR_MIN * spread:
        # Troughs mixed with mid-ramp points (a window narrower than the sawtooth period, or
        # too few periods seen yet) scatter widely: wait for a cleaner floor.
        return False, f"floor scatter {spread:.0f} too wide for growth {growth:.0f}", recent_rate
    if recent_rate is None:
        return False, "too few recent floor points", None
    # The early half's slope matters only here: fitted last, and only when it is asked.
    if (recent_mk.p_up >= RECENT_ALPHA
            or recent_rate < RECENT_MIN_SLOPE_RATIO * theil_sen(xs[:half], ys[:half]).slope):
        return False, f"levelled off: recent half p={recent_mk.p_up:.3g}", recent_rate
    return True, f"floor rising (p={p_up:.2g}, {len(xs)} troughs over {window_s:.0f}s)", recent_rate
