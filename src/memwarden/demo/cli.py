"""`memwarden demo`: watch memwarden catch a leaking web service, live, in about a minute."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from memwarden.demo.screen import Screen

from memwarden.cli.common import colour, fail, usage_errors
from memwarden.exitcodes import EXIT_FAILURE
from memwarden.units import format_bytes, parse_duration

MIN_DURATION_S = 20.0


@click.command()
@click.option("--duration", default="60s", show_default=True, metavar="DURATION",
              help="How long the load runs (at least 20s); the leak is sped up to fit. The "
              "demo runs on, up to a minute more, until the restart happened and the culprit "
              "was named.")
@click.option("--out", "out_dir", default="memwarden-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Directory for the report, trace, config, logs and saved state "
              "(its previous demo files are replaced).")
@click.option("--plain", is_flag=True, help="Plain lines, no redrawn status block "
              "(the default when stdout is not a terminal).")
@usage_errors
def demo(duration: str, out_dir: Path, plain: bool) -> None:
    """Watch memwarden handle a leaking web service, live, in about a minute.

    Runs a bundled web service with a memory leak under `memwarden run` (limit 256 MiB),
    drives load at it on 127.0.0.1, and shows live what memwarden does: memory rising, the
    leak detected with its rate and ETA, the culprit named, load shed at `critical`, a
    graceful restart with state saved and restored, and the failed-request count. Ends by
    writing an HTML report. Standard library only; no network beyond loopback.

    Exit status: 0 when the restart happened and no request failed, 1 otherwise."""
    from memwarden.demo.runner import Demo, new_scenario
    from memwarden.demo.scenario import REQUESTS_PER_S
    from memwarden.demo.screen import Screen

    duration_s = parse_duration(duration, key="duration")
    if duration_s < MIN_DURATION_S:
        fail(f"duration={duration!r}: must be at least {MIN_DURATION_S:.0f}s")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"out={str(out_dir)!r}: cannot create the directory ({err.strerror})")
    live = sys.stdout.isatty() and not plain
    screen = Screen(live=live, colour=colour())
    scenario = new_scenario(out_dir, duration_s)
    screen.line(screen.style("memwarden demo", bold=True) + ": a webhook service that keeps "
                "every event it processed in a set, forever, under memwarden run --limit 256M, "
                f"with {REQUESTS_PER_S} requests/s of load; files in {scenario.out_dir}")
    try:
        summary = Demo(scenario, screen).run()
    except KeyboardInterrupt:
        screen.line("interrupted: the service was stopped")
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(scenario.control_socket.parent, ignore_errors=True)
    _write_report(scenario.trace_path, scenario.report_path)
    (scenario.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ok = _print_summary(screen, summary)
    if not ok:
        raise SystemExit(EXIT_FAILURE)


def _write_report(trace_path: Path, report_path: Path) -> None:
    from memwarden.report.build import build_report

    if not trace_path.exists():
        fail(f"{trace_path}: the service wrote no trace; nothing to report")
    report_path.write_text(build_report(trace_path, ()).html(), encoding="utf-8")


def _print_summary(screen: Screen, summary: dict[str, Any]) -> bool:
    from memwarden.demo.story import describe_culprit

    requests = summary["requests"]
    saved = summary["state_saved"][0] if summary["state_saved"] else None
    restored = summary["state_restored"][0] if summary["state_restored"] else None
    restarted = bool(summary["restarts"])
    ok = restarted and requests["failed"] == 0

    def tick(good: bool) -> str:
        return screen.style("✓" if good else "✗", fg="green" if good else "red", bold=True)

    screen.line("")
    screen.line(screen.style("What happened", bold=True))
    screen.line(f"  {tick(summary['leak'] is not None)} leak detected"
                + (f": {_leak(summary['leak'])}" if summary["leak"] else ": no"))
    culprit = summary["culprit"]
    screen.line(f"  {tick(culprit is not None)} culprit named: "
                + (describe_culprit(culprit) if culprit else "no"))
    screen.line(f"  {tick(requests['shed_503'] > 0)} load shed at critical: "
                f"{requests['shed_503']:,} answers 503 + Retry-After, each retried")
    restart_text = "no restart happened"
    if restarted:
        from memwarden.demo.story import describe_restart

        count = len(summary["restarts"])
        first = describe_restart(summary["restarts"][0])
        restart_text = (f"{count} graceful restarts by memwarden run, the first: {first}"
                        if count > 1 else f"{first}, by memwarden run")
    screen.line(f"  {tick(restarted and restored is not None)} {restart_text}")
    if saved is not None and restored is not None:
        screen.line(f"    state saved: {saved['events_total']:,} events, {saved['sessions']} "
                    f"sessions / restored: {restored['events_total']:,} events, "
                    f"{restored['sessions']} sessions")
    screen.line(f"  {tick(requests['failed'] == 0)} {requests['failed']:,} failed requests of "
                f"{requests['sent']:,} ({requests['retries']:,} retries: "
                f"{requests['shed_503']:,} after a 503, {requests['refused']:,} after a refused "
                f"connection while restarting)")
    screen.line(f"  peak {format_bytes(summary['peak_bytes'])} of limit "
                f"{format_bytes(summary['limit_bytes'])}")
    screen.line("")
    screen.line(f"report: {screen.style(summary['report'], bold=True, underline=True)}")
    return ok


def _leak(figures: dict[str, Any]) -> str:
    from memwarden.demo.story import describe_leak

    return describe_leak(figures)
