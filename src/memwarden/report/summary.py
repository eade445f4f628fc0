"""What a reader wants first: peak, limit, headroom, leak verdict, restarts, OOM kills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from memwarden.report.downsample import envelope
from memwarden.report.model import Series, Trace, TraceEvent

if TYPE_CHECKING:
    from memwarden.leak.trend import Trend

# Theil-Sen is quadratic in the worst case; a day at 100 ms is 864,000 samples. The floor
# of each of this many buckets keeps what a leak fit needs (the post-GC minima).
TREND_MAX_POINTS = 2000
RESTART_KINDS = ("restart", "oom_kill", "exit")
MEASURED_FALLBACKS = ("measured_bytes", "tree_rss_bytes", "working_set_bytes")


@dataclass(frozen=True, slots=True)
class TrendView:
    trend: Trend | None
    fitted_from_s: float | None  # the fit covers [fitted_from_s, end]: since the last restart
    note: str  # why there is no trend, or "" when there is one


@dataclass(frozen=True, slots=True)
class Summary:
    series: Series
    measured_key: str
    events: list[TraceEvent]  # this program's events plus untagged ones, in time order
    peak_bytes: int | None
    peak_time_s: float | None
    end_bytes: int | None
    limit_bytes: int | None
    headroom_bytes: int | None
    restarts: int
    oom_kills: int
    leak_events: list[TraceEvent]
    trend: TrendView
    # The supervisor's restart threshold, from its memory restarts' events: drawn when the
    # samples carry none (a program's own guardian runs with restart off).
    restart_threshold_bytes: int | None = None


def summarise(trace: Trace, series: Series) -> Summary:
    measured_key = next(
        (key for key in MEASURED_FALLBACKS if series.last(key) is not None), MEASURED_FALLBACKS[0]
    )
    events = [e for e in trace.events if e.program in ("", series.name)]
    if not any(e.kind == "oom_kill" for e in events):
        events = sorted(events + _oom_from_counter(series), key=lambda e: e.time_s)
    known = series.known(measured_key)
    peak = max(known, key=lambda p: p[1]) if known else None
    end_bytes = known[-1][1] if known else None
    limit_bytes = series.last("limit_bytes")
    headroom = None
    if limit_bytes is not None and end_bytes is not None:
        headroom = limit_bytes - end_bytes
    return Summary(
        series=series,
        measured_key=measured_key,
        events=events,
        peak_bytes=peak[1] if peak else None,
        peak_time_s=peak[0] if peak else None,
        end_bytes=end_bytes,
        limit_bytes=limit_bytes,
        headroom_bytes=headroom,
        restarts=sum(1 for e in events if e.kind == "restart"),
        oom_kills=sum(1 for e in events if e.kind == "oom_kill"),
        leak_events=[e for e in events if e.kind == "leak"],
        trend=_trend(known, events, limit_bytes),
        restart_threshold_bytes=next(
            (e.figures["threshold_bytes"] for e in reversed(events)
             if e.kind == "restart" and isinstance(e.figures.get("threshold_bytes"), int)),
            None),
    )


def _oom_from_counter(series: Series) -> list[TraceEvent]:
    """`monitor` records the cgroup's oom_kill counter, not events: a rise is an OOM kill."""
    out: list[TraceEvent] = []
    previous: int | None = None
    for time_s, count in zip(series.times_s, series.figures["oom_kill_events"], strict=True):
        if count is None:
            continue
        if previous is not None and count > previous:
            for _ in range(count - previous):
                out.append(TraceEvent(
                    time_s=time_s, kind="oom_kill", tier=None, source="cgroup",
                    program=series.name, figures={"oom_kill_events": count},
                    message=f"the kernel OOM-killed a process (cgroup oom_kill counter {count})",
                ))
        previous = count
    return out


def _trend(
    known: list[tuple[float, int]], events: list[TraceEvent], limit_bytes: int | None
) -> TrendView:
    restarts = [e.time_s for e in events if e.kind in RESTART_KINDS]
    since_s = restarts[-1] if restarts else None
    if since_s is not None:
        known = [p for p in known if p[0] > since_s]
    try:
        from memwarden.leak.trend import fit_trend
    except ImportError:
        return TrendView(None, since_s, "trend unavailable (memwarden.leak is not installed)")
    if len(known) > TREND_MAX_POINTS:
        buckets = envelope(known, known[0][0], known[-1][0], TREND_MAX_POINTS)
        known = [((b.first_s + b.last_s) / 2, b.low) for b in buckets]
    try:
        trend = fit_trend([p[0] for p in known], [p[1] for p in known], limit_bytes=limit_bytes)
    except NotImplementedError:
        # The leak package ships the interface before the fit; say so rather than guess.
        return TrendView(None, since_s, "trend unavailable (leak trend fit not implemented)")
    if trend is None:
        return TrendView(None, since_s, "not enough samples for a trend")
    return TrendView(trend, known[0][0] if known else since_s, "")
