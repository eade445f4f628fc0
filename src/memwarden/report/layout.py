"""What goes on a chart, in data units, shared by the SVG and the PNG renderers.

Everything here is already downsampled to the chart's pixel columns, so renderers never walk
the raw samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from memwarden.report.downsample import Bucket, envelope, gap_threshold_s, runs
from memwarden.report.model import THRESHOLD_TIERS
from memwarden.report.summary import Summary

PLOT_COLUMNS = 1000  # buckets across the plot: about one per pixel of the SVG's plot area
LABELS = {
    "tree_rss_bytes": "tree RSS",
    "working_set_bytes": "working set",
    "py_traced_bytes": "Python heap (tracemalloc)",
    "measured_bytes": "measured",
}
METRIC_KEYS = {"tree_rss": "tree_rss_bytes", "working_set": "working_set_bytes"}
LEVELS = (*THRESHOLD_TIERS, "limit")
# A forecast that reaches the limit within this fraction of the trace's span is drawn.
FORECAST_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    label: str
    headline: bool  # the figure compared with the limit
    runs: list[list[Bucket]]


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time where the limit and thresholds stay the same."""

    start_s: float
    end_s: float
    levels: dict[str, int | None]  # warn/critical/restart/limit


@dataclass(frozen=True, slots=True)
class TierSpan:
    start_s: float
    end_s: float
    tier: str


@dataclass(frozen=True, slots=True)
class ChartLayout:
    summary: Summary
    start_s: float
    data_end_s: float
    end_s: float  # > data_end_s when a forecast to the limit is drawn
    top_bytes: float
    lines: list[Line]
    segments: list[Segment]
    tiers: list[TierSpan]
    trend_points: list[tuple[float, float]]  # fitted floor, then its projection
    eta_point: tuple[float, float] | None  # where the projection meets the limit


def build_layout(summary: Summary, start_s: float, end_s: float) -> ChartLayout:
    series = summary.series
    gap_s = gap_threshold_s(series.times_s)
    lines = []
    for key in _drawn_keys(summary):
        buckets = envelope(series.known(key), start_s, end_s, PLOT_COLUMNS)
        if buckets:
            headline = key == _headline_key(summary)
            label = LABELS[key] + (" — compared with the limit" if headline else "")
            lines.append(Line(key, label, headline, runs(buckets, gap_s)))
    segments = _segments(summary, start_s, end_s)
    trend_points, eta_point, chart_end_s = _trend(summary, end_s, end_s - start_s)
    # The projection is clipped to the plot; it does not stretch the scale.
    tops = [b.high for line in lines for run in line.runs for b in run]
    tops += [v for s in segments for v in s.levels.values() if v is not None]
    top = max(max(tops, default=1) * 1.08, 1.0)
    return ChartLayout(
        summary=summary, start_s=start_s, data_end_s=end_s, end_s=chart_end_s, top_bytes=top,
        lines=lines, segments=segments, tiers=_tiers(summary, start_s, end_s),
        trend_points=trend_points, eta_point=eta_point,
    )


def _headline_key(summary: Summary) -> str:
    metric_key = METRIC_KEYS.get(summary.series.metric or "")
    if (summary.measured_key == "measured_bytes" and metric_key
            and summary.series.last(metric_key) is not None):
        return metric_key
    return summary.measured_key


def _drawn_keys(summary: Summary) -> list[str]:
    headline = _headline_key(summary)
    keys = [headline]
    for key in ("tree_rss_bytes", "working_set_bytes", "py_traced_bytes"):
        if key != headline and summary.series.last(key) is not None:
            keys.append(key)
    return keys


def _segments(summary: Summary, start_s: float, end_s: float) -> list[Segment]:
    """Change points of (thresholds, limit), at most one per pixel column."""
    series = summary.series
    span_s = max(end_s - start_s, 1e-9)
    columns = [series.thresholds[t] for t in THRESHOLD_TIERS] + [series.figures["limit_bytes"]]
    restart_bytes = summary.restart_threshold_bytes
    if series.last("restart") is not None:
        restart_bytes = None  # the samples' own restart threshold wins
    out: list[Segment] = []
    last_column = -1
    previous: tuple[int | None, ...] | None = None
    for index, time_s in enumerate(series.times_s):
        values = tuple(c[index] for c in columns)
        if values == previous:
            continue
        previous = values
        levels = dict(zip(LEVELS, values, strict=True))
        if restart_bytes is not None:
            levels["restart"] = restart_bytes
        column = int((time_s - start_s) / span_s * PLOT_COLUMNS)
        if out and column == last_column:
            out[-1] = Segment(out[-1].start_s, time_s, levels)  # same pixel: keep the newest
            continue
        if out:
            out[-1] = Segment(out[-1].start_s, time_s, out[-1].levels)
        out.append(Segment(time_s, time_s, levels))
        last_column = column
    if out:
        out[-1] = Segment(out[-1].start_s, end_s, out[-1].levels)
    return out


def _tiers(summary: Summary, start_s: float, end_s: float) -> list[TierSpan]:
    series = summary.series
    out: list[TierSpan] = []
    for time_s, tier in zip(series.times_s, series.tiers, strict=True):
        if tier is None:
            continue
        if out and out[-1].tier == tier:
            out[-1] = TierSpan(out[-1].start_s, time_s, tier)
        else:
            if out:
                out[-1] = TierSpan(out[-1].start_s, time_s, out[-1].tier)
            out.append(TierSpan(time_s, time_s, tier))
    if out:
        out[-1] = TierSpan(out[-1].start_s, end_s, out[-1].tier)
    return out


def _trend(
    summary: Summary, end_s: float, span_s: float
) -> tuple[list[tuple[float, float]], tuple[float, float] | None, float]:
    trend = summary.trend.trend
    if trend is None:
        return [], None, end_s
    per_s = trend.rate_bytes_per_h / 3600.0
    from_s = summary.trend.fitted_from_s
    from_s = end_s - trend.window_s if from_s is None else max(from_s, end_s - trend.window_s)
    points = [(from_s, trend.intercept_bytes + per_s * (from_s - end_s)),
              (end_s, trend.intercept_bytes)]
    limit = summary.limit_bytes
    if (trend.leaking and trend.eta_s is not None and limit is not None and per_s > 0
            and trend.eta_s <= FORECAST_FRACTION * span_s):
        eta_at_s = end_s + trend.eta_s
        points.append((eta_at_s, float(limit)))
        return points, (eta_at_s, float(limit)), end_s + trend.eta_s * 1.06 + span_s * 0.02
    if trend.leaking and per_s > 0:  # a slower leak: where the floor heads, to the chart's edge
        points.append((end_s + span_s * 0.02, trend.intercept_bytes + per_s * span_s * 0.02))
        return points, None, end_s + span_s * 0.02
    return points, None, end_s
