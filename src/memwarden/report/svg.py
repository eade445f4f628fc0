"""The memory chart as inline SVG, written by hand: no JS library, no network, small output."""

from __future__ import annotations

from collections.abc import Sequence

from memwarden.report import fmt
from memwarden.report.downsample import Bucket
from memwarden.report.fmt import esc
from memwarden.report.lanes import lanes_svg
from memwarden.report.layout import ChartLayout, Segment
from memwarden.report.theme import BAND_COLOURS, LEVEL_COLOURS, SERIES_COLOURS, TIER_COLOURS

WIDTH = 1120
LEFT, RIGHT, TOP = 76, 128, 14
PLOT_HEIGHT = 330
RIBBON_HEIGHT = 12
LANE_HEIGHT = 18


class Scale:
    def __init__(self, layout: ChartLayout) -> None:
        self.start_s = layout.start_s
        self.span_s = max(layout.end_s - layout.start_s, 1e-9)
        self.top_bytes = layout.top_bytes
        self.plot_width = WIDTH - LEFT - RIGHT

    def x(self, time_s: float) -> float:
        return round(LEFT + (time_s - self.start_s) / self.span_s * self.plot_width, 1)

    def y(self, size_bytes: float) -> float:
        return round(TOP + PLOT_HEIGHT - size_bytes / self.top_bytes * PLOT_HEIGHT, 1)


def render_chart(layout: ChartLayout, *, snapshot_times_s: Sequence[float] = ()) -> str:
    scale = Scale(layout)
    lanes, lanes_height = lanes_svg(
        layout, scale, top=TOP + PLOT_HEIGHT + RIBBON_HEIGHT + 16, lane_height=LANE_HEIGHT,
        snapshot_times_s=snapshot_times_s,
    )
    axis_y = TOP + PLOT_HEIGHT + RIBBON_HEIGHT + 16 + lanes_height
    height = axis_y + 40
    name = layout.summary.series.name
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="memory over time{esc(" of " + name) if name else ""}" '
        f'data-start="{layout.start_s}" data-end="{layout.end_s}" '
        f'data-top="{layout.top_bytes:.0f}" data-left="{LEFT}" '
        f'data-plot-width="{scale.plot_width}">',
        f'<defs><clipPath id="{_clip_id(name)}"><rect x="{LEFT}" y="{TOP}" '
        f'width="{scale.plot_width}" height="{PLOT_HEIGHT}"/></clipPath></defs>',
        _bands(layout, scale),
        _grid(layout, scale, axis_y),
        f'<g clip-path="url(#{_clip_id(name)})">',
        *(_line(line.key, line.label, line.headline, line.runs, scale) for line in layout.lines),
        _levels(layout, scale),
        _trend(layout, scale),
        "</g>",
        "" if layout.lines else (
            f'<text class="no-data" x="{LEFT + scale.plot_width / 2}" y="{TOP + PLOT_HEIGHT / 2}" '
            'text-anchor="middle" font-size="15" fill="#57606a">no memory figure was readable '
            "in this trace (all null)</text>"),
        _level_labels(layout, scale),
        _ribbon(layout, scale),
        lanes,
        f'<rect class="plot-frame" x="{LEFT}" y="{TOP}" width="{scale.plot_width}" '
        f'height="{PLOT_HEIGHT}" fill="none" stroke="#8c959f" stroke-width="1"/>',
        '<line class="crosshair" x1="0" x2="0" y1="0" y2="0" stroke="#24292f" '
        'stroke-width="1" visibility="hidden"/>',
        "</svg>",
    ]
    return "\n".join(p for p in parts if p)


def _clip_id(name: str) -> str:
    return "plot-" + "".join(c if c.isalnum() else "-" for c in name) if name else "plot"


def _bands(layout: ChartLayout, scale: Scale) -> str:
    """Shaded tier zones between the thresholds (and above the limit), per stretch of time."""
    out = ['<g class="bands">']
    for seg in layout.segments:
        x0, x1 = scale.x(seg.start_s), scale.x(_segment_end(layout, seg))
        floors = [(k, float(v)) for k, v in seg.levels.items() if v is not None]
        if not floors:
            continue  # no limit, no thresholds: nothing to shade
        floors = sorted([("ok", 0.0), *floors], key=lambda kv: kv[1])
        for index, (key, floor) in enumerate(floors):
            ceiling = floors[index + 1][1] if index + 1 < len(floors) else layout.top_bytes
            band = "over" if key == "limit" else key
            y0, y1 = scale.y(min(ceiling, layout.top_bytes)), scale.y(floor)
            if y1 > y0 and x1 > x0:
                out.append(f'<rect class="band band-{band}" x="{x0}" y="{y0}" '
                           f'width="{round(x1 - x0, 1)}" height="{round(y1 - y0, 1)}" '
                           f'fill="{BAND_COLOURS[band]}"/>')
    if layout.end_s > layout.data_end_s:  # dim the future: only the forecast lives there
        x0, x1 = scale.x(layout.data_end_s), scale.x(layout.end_s)
        out.append(f'<rect class="future" x="{x0}" y="{TOP}" width="{round(x1 - x0, 1)}" '
                   f'height="{PLOT_HEIGHT}" fill="rgba(255,255,255,0.6)"/>'
                   f'<text x="{x0 + 6}" y="{TOP + PLOT_HEIGHT - 8}" font-size="11" '
                   'fill="#57606a">forecast</text>')
    out.append("</g>")
    return "\n".join(out)


def _segment_end(layout: ChartLayout, seg: Segment) -> float:
    """The last stretch runs on to the chart's end, so a forecast meets the limit line."""
    return layout.end_s if seg is layout.segments[-1] else max(seg.end_s, seg.start_s)


def _grid(layout: ChartLayout, scale: Scale, axis_y: float) -> str:
    out = ['<g class="grid" font-size="11" fill="#57606a">']
    for value in fmt.size_ticks(layout.top_bytes):
        y = scale.y(value)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + scale.plot_width}" y1="{y}" y2="{y}" '
                   f'stroke="#d0d7de" stroke-width="0.6"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{fmt.axis_size(value)}'
                   "</text>")
    span_s = layout.end_s - layout.start_s
    step_s = fmt.nice_step(span_s, 9, fmt.TIME_STEPS_S)
    with_date = span_s > 86400 or fmt.clock(layout.start_s, with_date=True)[:10] != fmt.clock(
        layout.end_s, with_date=True)[:10]
    tick = 0.0
    while tick <= span_s + 1e-9:
        x = scale.x(layout.start_s + tick)
        absolute = fmt.clock(layout.start_s + tick, with_date=with_date)
        anchor = "middle" if tick else "start"  # the first label must not run into "UTC"
        out.append(f'<line x1="{x}" x2="{x}" y1="{TOP}" y2="{axis_y}" stroke="#d0d7de" '
                   f'stroke-width="0.6"/><text x="{x}" y="{axis_y + 14}" text-anchor="{anchor}" '
                   f'fill="#24292f">{fmt.relative(tick) if tick else "0"}</text>'
                   f'<text x="{x}" y="{axis_y + 28}" text-anchor="{anchor}">'
                   f"{absolute[5:] if with_date else absolute}</text>")
        tick += step_s
    out.append(f'<text x="{LEFT - 6}" y="{axis_y + 28}" text-anchor="end">UTC</text></g>')
    return "\n".join(out)


def _line(key: str, label: str, headline: bool, runs: list[list[Bucket]], scale: Scale) -> str:
    """One column per bucket from its low to its high: at one bucket per pixel this draws what
    a full-resolution line would, sawtooth troughs and spikes included."""
    colour = SERIES_COLOURS[key]
    paths = []
    areas = []
    for run in runs:
        points: list[str] = []
        previous_y: float | None = None
        for b in run:
            x, y_low, y_high = scale.x((b.first_s + b.last_s) / 2), scale.y(b.low), scale.y(b.high)
            if y_low == y_high:
                ys = [y_low]
            elif previous_y is not None and abs(previous_y - y_low) < abs(previous_y - y_high):
                ys = [y_low, y_high]
            else:
                ys = [y_high, y_low]
            points.extend(f"{x},{y}" for y in ys)
            previous_y = ys[-1]
        if len(points) == 1:  # a lone sample is still a visible dot
            lone_x, lone_y = points[0].split(",")
            points.append(f"{float(lone_x) + 1.5},{lone_y}")
        paths.append("M" + " L".join(points))
        if headline:
            base = scale.y(0)
            first_x, last_x = points[0].split(",")[0], points[-1].split(",")[0]
            areas.append(f"M{first_x},{base} L" + " L".join(points) + f" L{last_x},{base} Z")
    width = 2 if headline else 1.4
    area = (f'<path class="area" d="{" ".join(areas)}" fill="{colour}" fill-opacity="0.10"/>'
            if areas else "")
    return (f'<g class="series series-{key}">{area}<path d="{" ".join(paths)}" fill="none" '
            f'stroke="{colour}" stroke-width="{width}" stroke-linejoin="round">'
            f"<title>{esc(label)}</title></path></g>")


def _levels(layout: ChartLayout, scale: Scale) -> str:
    """Threshold and limit lines as steps, broken where a level is unknown."""
    out = []
    for level, colour in LEVEL_COLOURS.items():
        commands: list[str] = []
        previous: int | None = None
        for seg in layout.segments:
            value = seg.levels.get(level)
            x0, x1 = scale.x(seg.start_s), scale.x(_segment_end(layout, seg))
            if value is None:
                previous = None
                continue
            y = scale.y(value)
            commands.append(f"V{y} H{x1}" if previous is not None else f"M{x0},{y} H{x1}")
            previous = value
        if commands:
            dash = "" if level == "limit" else ' stroke-dasharray="7 4"'
            width = 2.2 if level == "limit" else 1.4
            out.append(f'<path class="level level-{level}" d="{" ".join(commands)}" fill="none" '
                       f'stroke="{colour}" stroke-width="{width}"{dash}><title>{level}</title>'
                       "</path>")
    return "\n".join(out)


def _level_labels(layout: ChartLayout, scale: Scale) -> str:
    if not layout.segments:
        return ""
    last = layout.segments[-1].levels
    labels = sorted(((scale.y(v), k, v) for k, v in last.items() if v is not None), reverse=True)
    out = ['<g class="level-labels" font-size="11.5" font-weight="600">']
    floor_y = TOP + PLOT_HEIGHT + 4.0
    for y, level, value in labels:  # bottom-up, pushed apart so they never overlap
        y = min(y + 4, floor_y)
        floor_y = y - 13
        out.append(f'<text x="{LEFT + scale.plot_width + 6}" y="{y}" '
                   f'fill="{LEVEL_COLOURS[level]}">{level} {fmt.size(value)}</text>')
    out.append("</g>")
    return "\n".join(out)


def _trend(layout: ChartLayout, scale: Scale) -> str:
    if not layout.trend_points:
        return ""
    trend = layout.summary.trend.trend
    assert trend is not None  # trend_points exist only with a fitted trend
    fitted, projection = layout.trend_points[:2], layout.trend_points[1:]
    title = esc(f"fitted floor {fmt.rate(trend.rate_bytes_per_h)}")
    out = [f'<g class="trend"><title>{title}</title>',
           f'<path d="M{" L".join(f"{scale.x(t)},{scale.y(v)}" for t, v in fitted)}" '
           'stroke="#8250df" stroke-width="2.4" fill="none" opacity="0.85"/>']
    if len(projection) > 1:
        out.append(f'<path class="forecast" d="M{" L".join(f"{scale.x(t)},{scale.y(v)}" for t, v in projection)}" '  # noqa: E501
                   'stroke="#8250df" stroke-width="2" stroke-dasharray="3 4" fill="none"/>')
    if layout.eta_point is not None:
        x, y = scale.x(layout.eta_point[0]), scale.y(layout.eta_point[1])
        eta = fmt.relative(trend.eta_s or 0.0, plus=False)
        out.append(f'<circle class="eta" cx="{x}" cy="{y}" r="6" fill="#cf222e" stroke="#fff" '
                   f'stroke-width="2"><title>limit reached in {eta} at this rate</title></circle>'
                   f'<text x="{x - 8}" y="{y - 10}" text-anchor="end" font-size="12" '
                   f'font-weight="700" fill="#cf222e">limit in {eta}</text>')
    out.append("</g>")
    return "\n".join(out)


def _ribbon(layout: ChartLayout, scale: Scale) -> str:
    """A strip under the plot, coloured by tier: where the service spent its time."""
    y = TOP + PLOT_HEIGHT + 10
    out = [f'<g class="tier-ribbon"><text x="{LEFT - 6}" y="{y + 10}" text-anchor="end" '
           'font-size="11" fill="#57606a">tier</text>']
    for span in layout.tiers:
        x0, x1 = scale.x(span.start_s), scale.x(span.end_s)
        title = esc(f"{span.tier} from {fmt.relative(span.start_s - layout.start_s)} "
                    f"to {fmt.relative(span.end_s - layout.start_s)}")
        out.append(f'<rect class="tier tier-{esc(span.tier)}" x="{x0}" y="{y}" '
                   f'width="{max(round(x1 - x0, 1), 1)}" height="{RIBBON_HEIGHT}" '
                   f'fill="{TIER_COLOURS.get(span.tier, "#8c959f")}"><title>{title}</title></rect>')
    out.append("</g>")
    return "\n".join(out)
