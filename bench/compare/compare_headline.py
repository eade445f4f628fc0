"""The README's short comparison: one row per tool, one column per scenario (pure).

bench/compare/run.py writes it between the README's compare:headline markers, so the README's
figures are always those of the latest full run in docs/benchmarks/comparison.md. Under the
table it names every column where a peer did better than memwarden, from the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from compare_table import Figures, mib, ms, percent

MEMWARDEN = "memwarden"


@dataclass(frozen=True)
class HeadColumn:
    label: str
    scenario: str
    memwarden_row: str  # the row memwarden's cell reads in that scenario
    cell: Callable[[Figures], str]
    score: Callable[[Figures], float]  # lower is better; inf when there is no figure


def _num(figures: Figures, key: str) -> float:
    value = figures.get(key)
    return float(value) if isinstance(value, int | float) else math.inf


def _leak(f: Figures) -> str:
    value = f.get("delay_median_s")
    if value is not None:
        return ms(value)
    return f"no stop ({f['signalled']})" if f.get("signalled") is not None else "—"


def _spike_score(f: Figures) -> float:
    return _num(f, "oom") / _num(f, "runs") if _num(f, "runs") not in (0, math.inf) else math.inf


def _restarted(f: Figures) -> str:
    return str(f.get("restarted") or "—").split(" ", 1)[0].rstrip(",")


COLUMNS: tuple[HeadColumn, ...] = (
    HeadColumn("slow leak: crossed → stop signal (median)", "leak", MEMWARDEN, _leak,
               lambda f: _num(f, "delay_median_s")),
    HeadColumn("spike in a 512 MiB cgroup: OOM-killed", "spike", MEMWARDEN,
               lambda f: f"{f['oom']}/{f['runs']}" if f.get("runs") is not None else "—",
               _spike_score),
    HeadColumn("10 restarts under load: failed requests", "load", "memwarden --socket",
               lambda f: (f"{100 * float(v):.2f} %" if (v := f.get("failed_fraction"))
                          is not None else "—"),
               lambda f: _num(f, "failed_fraction")),
    HeadColumn("idle RSS", "footprint", MEMWARDEN,
               lambda f: mib(f["rss_bytes"]) if f.get("rss_bytes") is not None else "—",
               lambda f: _num(f, "rss_bytes")),
    HeadColumn("idle CPU", "footprint", MEMWARDEN,
               lambda f: percent(f["cpu_percent"]) if f.get("cpu_percent") is not None
               else "—",
               lambda f: _num(f, "cpu_percent")),
    HeadColumn("restarts on a grandchild's memory", "tree", MEMWARDEN, _restarted,
               lambda f: {"yes": 0.0, "no": 1.0}.get(_restarted(f), math.inf)),
)


def _figures(results: Mapping[str, Mapping[str, Figures | str]], column: HeadColumn,
             row: str) -> Figures | None:
    figures = results.get(column.scenario, {}).get(row)
    return figures if isinstance(figures, Mapping) else None


def where_not_leading(results: Mapping[str, Mapping[str, Figures | str]],
                      peers: Sequence[str]) -> list[str]:
    """One phrase per column in which some peer's figure beats memwarden's."""
    out = []
    for column in COLUMNS:
        # memwarden's headline row, and its plain row too where the headline shows an option
        # (--socket) the peers lack: the like-for-like figure must not hide behind it.
        for row in dict.fromkeys((column.memwarden_row, MEMWARDEN)):
            ours = _figures(results, column, row)
            our_score = column.score(ours) if ours is not None else math.inf
            better = [(peer, figures) for peer in peers
                      if (figures := _figures(results, column, peer)) is not None
                      and column.score(figures) < our_score]
            if better:
                names = ", ".join(f"{peer} {column.cell(figures)}" for peer, figures in better)
                mine = column.cell(ours) if ours is not None else "—"
                label = column.label if row == column.memwarden_row else (
                    f"{column.label} without `{column.memwarden_row.split(' ', 1)[1]}`")
                out.append(f"{label} (memwarden {mine}; {names})")
    return out


def headline_block(*, command: str, nproc: str,
                   results: Mapping[str, Mapping[str, Figures | str]],
                   peers: Sequence[str]) -> str:
    """peers: the peers' row names (each peer at its default and at its fastest setting)."""
    lines = [f"Same child programs, same limits, one run (`{command}`, {nproc} CPUs); memwarden "
             "at its default 100 ms interval, each peer at its default and at its fastest "
             "accepted setting (full tables, settings and method: "
             "[comparison](docs/benchmarks/comparison.md)):", "",
             "| | " + " | ".join(column.label for column in COLUMNS) + " |",
             "| --- |" + " --- |" * len(COLUMNS)]
    for row in (MEMWARDEN, *peers):
        cells = []
        for column in COLUMNS:
            figures = _figures(results, column,
                               column.memwarden_row if row == MEMWARDEN else row)
            text = column.cell(figures) if figures is not None else "—"
            if row == MEMWARDEN and column.memwarden_row != MEMWARDEN and text != "—":
                text += f" (`{column.memwarden_row.split(' ', 1)[1]}`)"
            cells.append(text)
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    behind = where_not_leading(results, peers)
    lines += ["", "Where memwarden does not lead in this run: " + "; ".join(behind) + "."
              if behind else "No peer does better than memwarden in any column in this run."]
    return "\n".join(lines)
