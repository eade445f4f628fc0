"""`memwarden monitor [PID]`: a live view of a process tree (or the container) and a JSONL trace."""

from __future__ import annotations

import shutil
import signal
import sys
import threading
from collections import deque
from pathlib import Path
from types import FrameType

import click

from memwarden.cli.common import config_arguments, usage_errors
from memwarden.config import load_guard_config
from memwarden.errors import NoSuchProcessError
from memwarden.events import Event
from memwarden.policy import PolicyState, Tier, Transition, evaluate
from memwarden.sample import Sample, Sampler
from memwarden.trace import TraceWriter, event_record, sample_record
from memwarden.units import format_bytes, parse_duration

SPARK_POINTS = 60
TIER_COLOURS = {
    Tier.OK: "green", Tier.WARN: "yellow", Tier.CRITICAL: "red", Tier.RESTART: "magenta",
}


@click.command()
@click.argument("pid", type=int, required=False)
@click.option("--interval", default="1s", show_default=True, help="Time between samples.")
@click.option("--duration", default=None, help="Stop after this long (e.g. 2m); default: "
              "until Ctrl-C or the process exits.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append a JSONL trace (schema memwarden.trace/1) for `memwarden report`.")
@click.option("--limit", default=None, help="Budget, e.g. 512M.")
@click.option("--warn", default=None, help="Warn threshold (size or % of limit).  [default: 70%]")
@click.option("--critical", default=None, help="Critical threshold.  [default: 85%]")
@click.option("--restart", default=None,
              help="Restart threshold (monitor only reports it).  [default: 95%]")
@click.option("--metric", type=click.Choice(["auto", "tree_rss", "working_set"]), default=None,
              help="Figure compared with the limit.  [default: auto]")
@click.option("--plain", is_flag=True, help="One line per sample even on a terminal.")
@usage_errors
def monitor(
    pid: int | None, interval: str, duration: str | None, out_path: Path | None,
    limit: str | None, warn: str | None, critical: str | None, restart: str | None,
    metric: str | None, plain: bool,
) -> None:
    """Watch memory live: figures, tier and a sparkline; optionally record a trace."""
    config = load_guard_config(config_arguments(
        limit=limit, warn=warn, critical=critical, restart=restart, metric=metric,
        interval=interval,
    ))
    duration_s = None if duration is None else parse_duration(duration, key="duration")
    policy = config.policy()
    sampler = Sampler(pid=pid, budget_bytes=config.limit_bytes, metric=config.metric,
                      with_status=True)  # the trace records swap
    sample = sampler.sample()  # fails early (exit 2) on a missing or unreadable pid
    started_s = sample.monotonic_s
    stop = threading.Event()
    _stop_on_signals(stop)
    writer = TraceWriter(out_path, pid) if out_path is not None else None
    live = sys.stdout.isatty() and not plain
    history: deque[int] = deque(maxlen=SPARK_POINTS)
    state = PolicyState()
    try:
        while True:
            transition = None
            if sample.measured_bytes is not None:
                state, transition = evaluate(
                    state, measured_bytes=sample.measured_bytes,
                    limit_bytes=sample.limit.limit_bytes, now_s=sample.monotonic_s, config=policy,
                )
                history.append(sample.measured_bytes)
            thresholds = policy.thresholds_bytes(sample.limit.limit_bytes)
            if writer is not None:
                writer.write(sample_record(sample, state.tier, thresholds))
                if transition is not None:
                    writer.write(event_record(_tier_event(transition, sample)))
            click.echo(_render(sample, state.tier, history, live), nl=not live)
            if transition is not None and not live:
                click.echo(f"tier {transition.previous.label} -> {transition.current.label}")
            elapsed_s = sample.monotonic_s - started_s
            if duration_s is not None and elapsed_s + config.interval_s > duration_s + 1e-6:
                break
            if stop.wait(config.interval_s):
                break
            try:
                sample = sampler.sample()
            except NoSuchProcessError:
                click.echo(f"\nprocess {pid} exited; monitor stops", err=True)
                break
    finally:
        if writer is not None:
            writer.close()
        if live:
            click.echo("")


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()  # the loop notices at its next wait; no work in the handler

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _tier_event(transition: Transition, sample: Sample) -> Event:
    return Event(
        kind="tier", time_s=sample.time_s, tier=transition.current.label, source="monitor",
        message=f"tier {transition.previous.label} -> {transition.current.label}: "
        f"{sample.metric} {format_bytes(transition.measured_bytes)}",
        figures={"previous": transition.previous.label,
                 "measured_bytes": transition.measured_bytes,
                 "threshold_bytes": transition.threshold_bytes},
    )


def _render(sample: Sample, tier: Tier, history: deque[int], live: bool) -> str:
    from memwarden.report.sparkline import sparkline

    ratio = sample.usage_ratio
    parts = [
        f"{tier.label.upper():<8}",
        f"{sample.metric} {format_bytes(sample.measured_bytes):>10}",
        f"limit {format_bytes(sample.limit.limit_bytes)} ({sample.limit.source or '-'})",
        f"{ratio:6.1%}" if ratio is not None else "     -",
        f"headroom {format_bytes(sample.headroom_bytes)}",
    ]
    if sample.tree is not None:
        parts.append(f"{len(sample.tree.processes)} proc")
    pressure = sample.cgroup_pressure or sample.pressure
    if pressure is not None:
        parts.append(f"psi {pressure.some.avg10:.1f}%")
    line = "  ".join(parts)
    if not live:
        return line
    width = shutil.get_terminal_size((100, 20)).columns
    spark = sparkline(list(history), width=min(SPARK_POINTS, max(10, width - len(line) - 4)))
    text = f"{line}  {spark}"[: width - 1]
    return "\r" + click.style(text, fg=TIER_COLOURS[tier]) + "\x1b[K"
