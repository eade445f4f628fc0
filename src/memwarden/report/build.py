"""From files to a page: load the trace and snapshots, summarise, lay out, render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from memwarden.report.html import render_page
from memwarden.report.layout import ChartLayout, build_layout
from memwarden.report.model import Trace, load_trace
from memwarden.report.snapshots import Growers, growers, load_snapshot
from memwarden.report.summary import summarise

MIN_SPAN_S = 1.0  # a single sample still gets a time axis to stand on


@dataclass(frozen=True, slots=True)
class Report:
    trace: Trace
    layouts: list[ChartLayout]  # one per program
    growers: Growers | None
    snapshot_times_s: list[float]

    def html(self) -> str:
        return render_page(self.trace, self.layouts, self.growers, self.snapshot_times_s)


def build_report(trace_path: Path, snapshot_paths: Sequence[Path] = ()) -> Report:
    trace = load_trace(trace_path)
    snapshots = [load_snapshot(path) for path in snapshot_paths]
    start_s, end_s = trace.start_s, max(trace.end_s, trace.start_s + MIN_SPAN_S)
    layouts = [build_layout(summarise(trace, s), start_s, end_s) for s in trace.series]
    # Align every program's chart on the widest time axis (a forecast may extend one).
    chart_end_s = max(layout.end_s for layout in layouts)
    layouts = [_with_end(layout, chart_end_s) for layout in layouts]
    times = [s.time_s for s in snapshots
             if s.time_s is not None and start_s <= s.time_s <= chart_end_s]
    return Report(trace, layouts, growers(snapshots), times)


def _with_end(layout: ChartLayout, end_s: float) -> ChartLayout:
    return replace(layout, end_s=end_s)
