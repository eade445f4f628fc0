"""The README's short comparison: one row per scenario, one column per tool (pure).

bench/compare/run.py writes it between the README's compare:headline markers, so the README's
figures are always those of the latest full run in docs/benchmarks/comparison.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from compare_table import Figures, mib, ms

TOOLS = ("memwarden", "PM2 (fork)", "supervisord + memmon", "circus")
# (row label, scenario, the memwarden row to read, how a tool's figures read as one cell)
Cell = Callable[[Figures], str]
ROWS: tuple[tuple[str, str, str, Cell], ...] = (
    ("slow leak: threshold crossed → stop signal (median)", "leak", "memwarden",
     lambda f: ms(f["delay_median_s"]) if f.get("delay_median_s") is not None else "—"),
    ("spike in a 512 MiB cgroup: OOM-killed", "spike", "memwarden",
     lambda f: f"{f['oom']}/{f['runs']}" if f.get("runs") is not None else "—"),
    ("10 restarts under load: failed requests", "load", "memwarden --socket",
     lambda f: (f"{100 * float(v):.2f} %" if (v := f.get("failed_fraction")) is not None
                else "—")),
    ("idle supervisor RSS", "footprint", "memwarden",
     lambda f: mib(f["rss_bytes"]) if f.get("rss_bytes") is not None else "—"),
    ("restarts on a grandchild's memory", "tree", "memwarden",
     lambda f: str(f.get("restarted") or "—").split(" ", 1)[0].rstrip(",")),
)


def headline_block(*, command: str, nproc: str,
                   results: Mapping[str, Mapping[str, Figures | str]]) -> str:
    lines = [f"Same child programs, same limits, one run (`{command}`, {nproc} CPUs; full "
             "tables and method: [comparison](docs/benchmarks/comparison.md)):", "",
             "| | " + " | ".join(TOOLS) + " |", "| --- |" + " --- |" * len(TOOLS)]
    for label, scenario, memwarden_row, cell in ROWS:
        rows = results.get(scenario, {})
        cells = []
        for tool in TOOLS:
            figures = rows.get(memwarden_row if tool == "memwarden" else tool)
            text = cell(figures) if isinstance(figures, Mapping) else "—"
            if tool == "memwarden" and memwarden_row != "memwarden" and text != "—":
                text += f" (`{memwarden_row.split(' ', 1)[1]}`)"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
