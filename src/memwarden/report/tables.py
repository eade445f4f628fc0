"""HTML tables: top growers from snapshots, and the event log."""

from __future__ import annotations

from memwarden.report import fmt
from memwarden.report.fmt import esc
from memwarden.report.model import TraceEvent
from memwarden.report.snapshots import Growers, Row
from memwarden.report.theme import EVENT_STYLES

EVENT_ROWS_EACH_END = 200  # a flapping trace keeps its first and last events, not all 100,000
SECTION_TITLES = {
    "containers": "Containers (owner paths)",
    "types": "Types",
    "tracemalloc": "Allocation sites (tracemalloc)",
}


def growers_html(growers: Growers | None) -> str:
    if growers is None:
        return ""
    out = ['<section class="growers"><h2>Top growers</h2>',
           f'<p class="hint">{esc(growers.title)}</p>']
    if growers.note:
        out.append(f'<p class="note degraded">{esc(growers.note)}</p>')
    for name, rows in growers.sections.items():
        if rows:
            out.append(_rows_table(name, rows))
    if not any(growers.sections.values()):
        out.append('<p class="hint">The snapshots hold no containers, types or sites.</p>')
    out.append("</section>")
    return "\n".join(out)


def _rows_table(section: str, rows: list[Row]) -> str:
    growth = any(r.delta_size_bytes is not None for r in rows)
    scale = max(abs((r.delta_size_bytes if growth else r.size_bytes) or 0) for r in rows) or 1
    head = "<th>growth</th><th>size</th><th>count</th>" if growth else "<th>size</th><th>count</th>"
    out = [f'<table class="grow grow-{section}"><caption>{SECTION_TITLES[section]}</caption>'
           f"<thead><tr><th>{'owner' if section == 'containers' else 'name'}</th>{head}"
           "</tr></thead><tbody>"]
    for row in rows:
        bar_bytes = row.delta_size_bytes if growth else row.size_bytes
        width = abs(bar_bytes or 0) / scale * 100
        name = f"<code>{esc(row.name)}</code>"
        if row.kind:
            name += f' <span class="kind">({esc(row.kind)})</span>'
        if row.detail:
            name += f'<pre class="tb">{esc(row.detail)}</pre>'
        cells = [f'<td class="name">{name}</td>']
        if growth:
            cells.append(f'<td class="num bar-cell"><span class="bar" style="width:{width:.0f}%">'
                         f"</span>{esc(fmt.size(row.delta_size_bytes, signed=True))}</td>")
            count = _count(row.count, row.delta_count)
        else:
            count = _count(row.count, None)
        size_cell = (f'<td class="num bar-cell"><span class="bar" style="width:{width:.0f}%">'
                     f"</span>{esc(fmt.size(row.size_bytes))}</td>" if not growth else
                     f'<td class="num">{esc(fmt.size(row.size_bytes))}</td>')
        cells.append(size_cell)
        cells.append(f'<td class="num">{esc(count)}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _count(count: int | None, delta: int | None) -> str:
    text = "–" if count is None else f"{count:,}"
    return f"{text} ({delta:+,})" if delta is not None else text


def events_html(events: list[TraceEvent], start_s: float) -> str:
    if not events:
        return '<section class="events"><h2>Events</h2><p class="hint">No events.</p></section>'
    shown = events
    skipped = 0
    if len(events) > 2 * EVENT_ROWS_EACH_END:
        skipped = len(events) - 2 * EVENT_ROWS_EACH_END
        shown = events[:EVENT_ROWS_EACH_END] + events[-EVENT_ROWS_EACH_END:]
    counts: dict[str, int] = {}
    for event in events:
        counts[event.kind] = counts.get(event.kind, 0) + 1
    summary = ", ".join(f"{n} {EVENT_STYLES.get(k, (k, ''))[0]}" for k, n in counts.items())
    is_open = " open" if len(events) <= 50 else ""  # a long log would push the page down
    out = [f'<section class="events"><details{is_open}>',
           f"<summary><h2>Events</h2> <span class=\"hint\">{esc(summary)}</span></summary>",
           '<table class="event-log"><thead><tr><th>time</th><th>UTC</th><th>what</th>'
           "<th>tier</th><th>message</th></tr></thead><tbody>"]
    for index, event in enumerate(shown):
        if skipped and index == EVENT_ROWS_EACH_END:
            out.append(f'<tr class="skipped"><td colspan="5">… {skipped:,} events in between '
                       "are left out …</td></tr>")
        label, colour = EVENT_STYLES.get(event.kind, (event.kind, "#57606a"))
        program = f"[{event.program}] " if event.program else ""
        out.append(
            f'<tr class="ev ev-{esc(event.kind)}"><td class="num">'
            f"{fmt.relative(event.time_s - start_s)}</td>"
            f"<td>{fmt.clock(event.time_s, with_date=True)}</td>"
            f'<td><span class="dot" style="background:{colour}"></span>{esc(label)}</td>'
            f"<td>{esc(event.tier or '')}</td><td>{esc(program + event.message)}</td></tr>"
        )
    out.append("</tbody></table></details></section>")
    return "\n".join(out)
