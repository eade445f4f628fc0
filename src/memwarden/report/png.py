"""The chart as a PNG via matplotlib (optional extra `report`; imported only for --png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memwarden.report import fmt
from memwarden.report.layout import ChartLayout
from memwarden.report.theme import (
    BAND_COLOURS,
    EVENT_STYLES,
    FULL_HEIGHT_KINDS,
    LEVEL_COLOURS,
    SERIES_COLOURS,
)

MIB = 1024**2


def write_png(layouts: list[ChartLayout], path: Path, *, dpi: int = 110) -> None:
    # Figure + Agg canvas, not pyplot: no global state, no GUI backend probing.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.2 * len(layouts)), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(len(layouts), 1, squeeze=False)[:, 0]
    for axes, layout in zip(axes_list, layouts, strict=True):
        _draw(axes, layout)
    figure.savefig(path, format="png")


def _draw(axes: Any, layout: ChartLayout) -> None:
    start_s = layout.start_s
    unit = fmt.GIB if layout.top_bytes >= 4 * fmt.GIB else MIB
    unit_name = "GiB" if unit == fmt.GIB else "MiB"
    hours = (layout.end_s - start_s) >= 3 * 3600
    time_unit, time_name = (3600.0, "h") if hours else (60.0, "min")

    def tx(time_s: float) -> float:
        return (time_s - start_s) / time_unit

    for seg in layout.segments:
        end_s = layout.end_s if seg is layout.segments[-1] else max(seg.end_s, seg.start_s)
        x0, x1 = tx(seg.start_s), tx(end_s)
        floors = sorted([("ok", 0.0)] + [(k, float(v)) for k, v in seg.levels.items()
                                         if v is not None], key=lambda kv: kv[1])
        for index, (key, floor) in enumerate(floors):
            top = floors[index + 1][1] if index + 1 < len(floors) else layout.top_bytes
            band = "over" if key == "limit" else key
            axes.fill_between([x0, x1], floor / unit, top / unit, color=_rgba(BAND_COLOURS[band]),
                              linewidth=0)
        for level, value in seg.levels.items():
            if value is not None:
                axes.plot([x0, x1], [value / unit] * 2, color=LEVEL_COLOURS[level],
                          linestyle="-" if level == "limit" else "--",
                          linewidth=2 if level == "limit" else 1.2)
                if seg is layout.segments[-1]:
                    axes.annotate(f" {level} {fmt.size(value)}", (1.0, value / unit),
                                  xycoords=("axes fraction", "data"), va="center",
                                  fontsize=8, color=LEVEL_COLOURS[level], annotation_clip=False)
    for line in layout.lines:
        colour = SERIES_COLOURS[line.key]
        for index, run in enumerate(line.runs):
            xs = [tx((b.first_s + b.last_s) / 2) for b in run]
            axes.fill_between(xs, [b.low / unit for b in run], [b.high / unit for b in run],
                              color=colour, alpha=0.35, linewidth=0)
            axes.plot(xs, [b.high / unit for b in run], color=colour,
                      linewidth=1.8 if line.headline else 1.1,
                      label=line.label if index == 0 else None)
    if layout.trend_points:
        xs = [tx(t) for t, _ in layout.trend_points]
        ys = [v / unit for _, v in layout.trend_points]
        axes.plot(xs[:2], ys[:2], color="#8250df", linewidth=2.2, label="leak trend")
        axes.plot(xs[1:], ys[1:], color="#8250df", linewidth=1.8, linestyle=":")
    trend = layout.summary.trend.trend
    if layout.eta_point is not None and trend is not None and trend.eta_s is not None:
        x, y = tx(layout.eta_point[0]), layout.eta_point[1] / unit
        axes.plot([x], [y], "o", color="#cf222e")
        axes.annotate(f"limit in {fmt.relative(trend.eta_s, plus=False)} ", (x, y),
                      textcoords="offset points", xytext=(-4, -14), ha="right", fontsize=9,
                      color="#cf222e", fontweight="bold")
    labelled: set[str] = set()
    for event in layout.summary.events:
        if event.kind in FULL_HEIGHT_KINDS:
            label, colour = EVENT_STYLES[event.kind]
            axes.axvline(tx(event.time_s), color=colour, linewidth=1.2, linestyle=":",
                         label=label if label not in labelled else None)
            labelled.add(label)
    axes.set_xlim(0, tx(layout.end_s))
    axes.set_ylim(0, layout.top_bytes / unit)
    axes.set_xlabel(f"time since {fmt.clock(start_s, with_date=True)} UTC ({time_name})")
    axes.set_ylabel(unit_name)
    name = layout.summary.series.name
    axes.set_title(f"memory over time{' — ' + name if name else ''}", loc="left")
    axes.grid(True, color="#d0d7de", linewidth=0.6)
    axes.legend(loc="upper left", fontsize=8, framealpha=0.9)


def _rgba(css: str) -> tuple[float, float, float, float]:
    """`rgba(r,g,b,a)` from the theme as matplotlib wants it."""
    red, green, blue, alpha = css[css.index("(") + 1 : css.index(")")].split(",")
    return int(red) / 255, int(green) / 255, int(blue) / 255, float(alpha)
