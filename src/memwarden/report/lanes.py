"""Event lanes under the chart: one row per kind, markers with hover titles, merged per slot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from memwarden.report import fmt
from memwarden.report.fmt import esc
from memwarden.report.layout import ChartLayout
from memwarden.report.model import TraceEvent
from memwarden.report.theme import EVENT_STYLES, FULL_HEIGHT_KINDS, TIER_COLOURS

SLOT_PX = 5  # events closer than this merge into one marker, so 10,000 flaps stay readable
TITLE_LINES = 8


class XScale(Protocol):
    plot_width: int

    def x(self, time_s: float) -> float: ...

    def y(self, size_bytes: float) -> float: ...


def lanes_svg(
    layout: ChartLayout, scale: XScale, *, top: float, lane_height: float,
    snapshot_times_s: Sequence[float] = (),
) -> tuple[str, float]:
    """SVG for the lanes (and full-height lines for restarts, OOM kills, leaks); its height."""
    events = list(layout.summary.events)
    events += [TraceEvent(t, "snapshot", "heap snapshot", None, "report", "", {})
               for t in snapshot_times_s]
    events.sort(key=lambda e: e.time_s)  # slots merge neighbours: they must be in time order
    kinds = [k for k in EVENT_STYLES if any(e.kind == k for e in events)]
    kinds += sorted({e.kind for e in events} - set(kinds))
    left = scale.x(layout.start_s)
    out = ['<g class="lanes" font-size="11">']
    for row, kind in enumerate(kinds):
        label, colour = EVENT_STYLES.get(kind, (kind, "#57606a"))
        y = top + row * lane_height + lane_height / 2
        out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" fill="#57606a">'
                   f"{esc(label)}</text><line x1=\"{left}\" x2=\"{left + scale.plot_width}\" "
                   f'y1="{y}" y2="{y}" stroke="#eaeef2" stroke-width="1"/>')
        for group in _slots([e for e in events if e.kind == kind], scale):
            x = scale.x(group[0].time_s)
            title = esc(_title(group, layout.start_s))
            fill = TIER_COLOURS.get(group[-1].tier or "", colour) if kind == "tier" else colour
            if kind in FULL_HEIGHT_KINDS:
                out.append(f'<line class="event-line event-line-{esc(kind)}" x1="{x}" x2="{x}" '
                           f'y1="{scale.y(layout.top_bytes)}" y2="{y}" stroke="{colour}" '
                           f'stroke-width="1.3" stroke-dasharray="2 2" opacity="0.85"/>')
            radius = 5 if len(group) == 1 else 6.5
            out.append(f'<g class="event event-{esc(kind)}"><title>{title}</title>'
                       f'{_marker(kind, x, y, radius, fill)}</g>')
    out.append("</g>")
    return "\n".join(out), len(kinds) * lane_height


def _slots(events: list[TraceEvent], scale: XScale) -> list[list[TraceEvent]]:
    groups: list[list[TraceEvent]] = []
    for event in events:
        x = scale.x(event.time_s)
        if groups and x - scale.x(groups[-1][0].time_s) < SLOT_PX:
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


def _title(group: list[TraceEvent], start_s: float) -> str:
    lines = [f"{len(group)} events"] if len(group) > 1 else []
    for event in group[:TITLE_LINES]:
        where = f"[{event.program}] " if event.program else ""
        lines.append(f"{fmt.relative(event.time_s - start_s)} ({fmt.clock(event.time_s)} UTC) "
                     f"{where}{event.kind}: {event.message}")
    if len(group) > TITLE_LINES:
        lines.append(f"… and {len(group) - TITLE_LINES} more")
    return "\n".join(lines)


def _marker(kind: str, x: float, y: float, r: float, fill: str) -> str:
    if kind == "oom_kill":  # a cross: something was killed
        return (f'<path d="M{x - r},{y - r} L{x + r},{y + r} M{x - r},{y + r} L{x + r},{y - r}" '
                f'stroke="{fill}" stroke-width="3"/>')
    if kind in ("restart", "exit"):  # a square
        return (f'<rect x="{x - r}" y="{y - r}" width="{2 * r}" height="{2 * r}" '
                f'fill="{fill}" rx="1.5"/>')
    if kind == "leak":  # a triangle pointing up: growth
        return f'<path d="M{x},{y - r} L{x + r},{y + r} L{x - r},{y + r} Z" fill="{fill}"/>'
    if kind == "action":  # a diamond
        return f'<path d="M{x},{y - r} L{x + r},{y} L{x},{y + r} L{x - r},{y} Z" fill="{fill}"/>'
    return (f'<circle cx="{x}" cy="{y}" r="{r}" fill="{fill}" stroke="#fff" '
            'stroke-width="1"/>')
