"""`memwarden report TRACE [SNAPSHOT ...] --out report.html [--png chart.png]`."""

from __future__ import annotations

from pathlib import Path

import click

from memwarden.cli.common import fail, usage_errors
from memwarden.report import fmt


@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(path_type=Path))
@click.argument("snapshot_paths", metavar="[SNAPSHOT]...", nargs=-1,
                type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="HTML file to write.  [default: TRACE with .html]")
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the chart as a PNG (needs memwarden[report]).")
@usage_errors
def report(trace_path: Path, snapshot_paths: tuple[Path, ...], out_path: Path | None,
           png_path: Path | None) -> None:
    """Write a self-contained HTML report (memory over time, events, trend, top growers)
    from a JSONL trace and optional heap snapshots."""
    if png_path is not None:
        try:  # fail before any work: the extra is optional
            import matplotlib  # noqa: F401
        except ImportError:
            fail("--png needs matplotlib: pip install 'memwarden[report]'")
    from memwarden.report.build import build_report

    built = build_report(trace_path, snapshot_paths)
    out_path = out_path or trace_path.with_suffix(".html")
    _write(out_path, built.html())
    lines = [f"wrote {out_path} ({fmt.size(out_path.stat().st_size)})"]
    if png_path is not None:
        from memwarden.report.png import write_png

        try:
            write_png(built.layouts, png_path)
        except OSError as err:
            fail(f"{png_path}: cannot write ({err.strerror})")
        lines.append(f"wrote {png_path} ({fmt.size(png_path.stat().st_size)})")
    for layout in built.layouts:
        s = layout.summary
        name = f"[{s.series.name}] " if s.series.name else ""
        trend = s.trend.trend
        verdict = s.trend.note or "no trend"
        if trend is not None:
            verdict = ("LEAKING " if trend.leaking else "no leak ") + fmt.rate(
                trend.rate_bytes_per_h)
        lines.append(f"{name}peak {fmt.size(s.peak_bytes)} of limit {fmt.size(s.limit_bytes)}, "
                     f"{fmt.count(s.restarts, 'restart')}, "
                     f"{fmt.count(s.oom_kills, 'OOM kill')}, {verdict}")
        culprits = [e.figures["culprit"] for e in s.leak_events
                    if isinstance(e.figures.get("culprit"), str)]
        if culprits:  # the latest attribution names what leaks
            lines.append(f"{name}leak culprit: {culprits[-1]}")
    click.echo("\n".join(lines))


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        fail(f"{path}: cannot write ({err.strerror})")
