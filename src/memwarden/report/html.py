"""The report page: one self-contained HTML file (inline CSS, SVG and a few lines of script)."""

from __future__ import annotations

import json

from memwarden import __version__
from memwarden.report import fmt
from memwarden.report.assets import CSS, SCRIPT
from memwarden.report.cards import cards, cards_html
from memwarden.report.fmt import esc
from memwarden.report.layout import ChartLayout
from memwarden.report.model import Trace
from memwarden.report.snapshots import Growers
from memwarden.report.svg import render_chart
from memwarden.report.tables import events_html, growers_html
from memwarden.report.theme import LEVEL_COLOURS, SERIES_COLOURS


def render_page(
    trace: Trace, layouts: list[ChartLayout], growers: Growers | None,
    snapshot_times_s: list[float],
) -> str:
    header = trace.header
    title = "memwarden report" + (f" — {trace.series[0].name}" if len(trace.series) == 1
                                  and trace.series[0].name else "")
    start_s, end_s = trace.start_s, trace.end_s
    argv = header.get("argv")
    command = " ".join(str(a) for a in argv) if isinstance(argv, list) else ""
    meta = [
        f"{fmt.clock(start_s, with_date=True)} → {fmt.clock(end_s, with_date=True)} UTC",
        f"{fmt.relative(end_s - start_s, plus=False)}",
        f"{trace.sample_count:,} sample{'s' if trace.sample_count != 1 else ''}",
    ]
    if header.get("pid") is not None:
        meta.append(f"pid {header.get('pid')}")
    if header.get("host"):
        meta.append(f"host {header.get('host')}")
    body = [
        f"<header><h1>{esc(title)}</h1>",
        f'<p class="meta">{" · ".join(esc(m) for m in meta)}</p>',
        f'<p class="meta"><code>{esc(command)}</code></p>' if command else "",
        "</header>",
    ]
    all_events = []
    for layout in layouts:
        summary = layout.summary
        body.append('<section class="program">')
        if len(layouts) > 1:
            body.append(f"<h2>{esc(summary.series.name or 'trace')}</h2>")
        body.append(cards_html(cards(summary, start_s)))
        body.append('<figure class="chart-box">')
        body.append(render_chart(layout, snapshot_times_s=snapshot_times_s))
        body.append('<div class="readout" aria-live="polite">Hover over the chart to read '
                    "a moment's figures.</div>")
        body.append(_legend(layout))
        body.append(_hover_data(layout))
        body.append("</figure></section>")
        all_events.extend(summary.events)
    body.append(growers_html(growers))
    unique = {(e.time_s, e.kind, e.message, e.program): e for e in all_events}
    body.append(events_html(sorted(unique.values(), key=lambda e: e.time_s), start_s))
    body.append(f'<footer>memwarden {esc(__version__)} · trace {esc(trace.path.name)} · '
                f"schema {esc(header.get('schema') or 'memwarden.trace/1')} · all times UTC"
                "</footer>")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
        '<body data-chart-rendered="no">\n' + "\n".join(b for b in body if b)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def _legend(layout: ChartLayout) -> str:
    items = [f'<span class="key"><i class="swatch" style="background:{SERIES_COLOURS[line.key]}">'
             f'</i>{esc(line.label)}</span>' for line in layout.lines]
    levels = {k for seg in layout.segments for k, v in seg.levels.items() if v is not None}
    items += [f'<span class="key"><i class="swatch dashed" style="border-color:'
              f'{LEVEL_COLOURS[k]}"></i>{k}</span>' for k in LEVEL_COLOURS if k in levels]
    if layout.trend_points:
        items.append('<span class="key"><i class="swatch" style="background:#8250df"></i>'
                     "leak trend (fitted floor, dotted: forecast)</span>")
    elif layout.summary.trend.note:
        items.append(f'<span class="key degraded">{esc(layout.summary.trend.note)}</span>')
    return f'<div class="legend">{"".join(items)}</div>'


def _hover_data(layout: ChartLayout) -> str:
    """Numbers only (no text from the trace), for the hover readout; `<` cannot appear."""
    headline = next((line for line in layout.lines if line.headline), None)
    if headline is None:
        return ""
    buckets = [b for run in headline.runs for b in run]
    data = {
        "label": headline.label.split(" — ")[0],
        "start": layout.start_s,
        "t": [round((b.first_s + b.last_s) / 2 - layout.start_s, 2) for b in buckets],
        "lo": [b.low for b in buckets],
        "hi": [b.high for b in buckets],
        "limit": layout.summary.limit_bytes,
    }
    text = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" class="chart-data">{text}</script>'
