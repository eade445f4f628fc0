"""Pure rendering: scenario figures per tool -> markdown tables with ratios to memwarden."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

Figures = Mapping[str, float | int | str | None]
BASELINE = "memwarden"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    show: Callable[[float | int | str], str] = str


@dataclass(frozen=True)
class Spec:
    title: str
    measures: str
    columns: tuple[Column, ...]
    ratio_keys: tuple[str, ...] = ()  # lower is better; each ratio column is tool / memwarden


def ms(value: float | int | str) -> str:
    return f"{float(value) * 1000:.0f} ms" if float(value) < 10 else f"{float(value):.1f} s"


def mib(value: float | int | str) -> str:
    return f"{float(value) / 2**20:.1f} MiB"


def percent(value: float | int | str) -> str:
    """CPU as % of one core: 0.001 % is 0.6 ms a minute, which the ns counters resolve."""
    return f"{float(value):.3f} %"


def ratio(value: float | int | str | None, baseline: float | int | str | None) -> str:
    if not isinstance(value, int | float) or not isinstance(baseline, int | float):
        return "—"
    if baseline == 0:
        return "same" if value == 0 else "∞ (memwarden 0)"
    return f"{value / baseline:.1f}×"


def cell(figures: Figures, column: Column) -> str:
    value = figures.get(column.key)
    return "—" if value is None else column.show(value).replace("|", "\\|")


def render(spec: Spec, rows: Mapping[str, Figures | str]) -> str:
    """rows: tool name -> figures, or a string saying why the tool has no figures."""
    headers = ["tool", *(column.header for column in spec.columns)]
    by_key = {column.key: column.header for column in spec.columns}
    headers += [f"{by_key[key]} × memwarden" for key in spec.ratio_keys]
    baseline = rows.get(BASELINE)
    lines = [f"### {spec.title}", "", spec.measures, "",
             "| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for tool, figures in rows.items():
        if isinstance(figures, str):
            cells = [figures] + [""] * (len(headers) - 2)
        else:
            cells = [cell(figures, column) for column in spec.columns]
            for key in spec.ratio_keys:
                if baseline is None or isinstance(baseline, str):
                    cells.append("pending")
                else:
                    cells.append(ratio(figures.get(key), baseline.get(key)))
        lines.append("| " + " | ".join([tool, *cells]) + " |")
    return "\n".join(lines) + "\n"
