"""`memwarden monitor [PID]`: a live view of a process tree (or the container) and a JSONL trace."""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import FrameType

import click

from memwarden.cli.common import styled, usage_errors
from memwarden.errors import NoSuchProcessError
from memwarden.events import Event, EventKind
from memwarden.policy import PolicyState, Tier, Transition, evaluate
from memwarden.sample import Sample, Sampler
from memwarden.settings.clickopts import given, setting_options
from memwarden.settings.load import FLAG
from memwarden.settings.numbers import Duration
from memwarden.settings.types import FilePath
from memwarden.trace import TraceWriter, event_record, sample_record
from memwarden.units import format_bytes

DURATION = Duration(0.01, 366 * 86400.0)
OUT = FilePath("parent", empty_is_none=False)
SPARK_POINTS = 60
MIN_SPARK = 10  # a shorter sparkline says nothing
PLAIN_WIDTH = 80
TIER_COLOURS = {
    Tier.OK: "green", Tier.WARN: "yellow", Tier.CRITICAL: "red", Tier.RESTART: "magenta",
}


@click.command()
@click.argument("pid", type=int, required=False)
@setting_options("guard", ("interval", "limit", "warn", "critical", "restart", "metric"))
@click.option("--duration", default=None, metavar="DURATION", help="Stop after this long "
              "(e.g. 2m); default: until Ctrl-C or the process exits.")
@click.option("--out", "out", metavar="FILE", default=None,
              help="Append a JSONL trace (schema memwarden.trace/1) for `memwarden report`.")
@click.option("--plain", is_flag=True, help="One line per sample even on a terminal.")
@usage_errors
def monitor(pid: int | None, duration: str | None, out: str | None, plain: bool,
            **options: str | None) -> None:
    """Watch memory live: figures, tier and a sparkline; optionally record a trace."""
    from memwarden.settings import load

    config = load().guard(given(options), source=FLAG)
    duration_s = None if duration is None else DURATION(duration, "--duration")
    out_path: Path | None = None if out is None else OUT(out, "--out")
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
    click.echo(_header(pid, sample, policy.thresholds_bytes(sample.limit.limit_bytes)))
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
            if live:
                click.echo(_live_line(sample, state.tier, history), nl=False)
            else:
                click.echo(_plain_line(sample, state.tier))
                if transition is not None:
                    click.echo(f"{_stamp(sample.time_s)} tier {transition.previous.label} -> "
                               f"{transition.current.label}")
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
        kind=EventKind.TIER, time_s=sample.time_s, tier=transition.current.label, source="monitor",
        message=f"tier {transition.previous.label} -> {transition.current.label}: "
        f"{sample.metric} {format_bytes(transition.measured_bytes)}",
        figures={"previous": transition.previous.label,
                 "measured_bytes": transition.measured_bytes,
                 "threshold_bytes": transition.threshold_bytes},
    )


def _stamp(time_s: float) -> str:
    """Local time to the second, as in memwarden's other logs."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time_s))


def _header(pid: int | None, sample: Sample, thresholds: dict[Tier, int | None]) -> str:
    what = f"pid {pid} and its tree" if pid is not None else "the container/system"
    ladder = ", ".join(f"{tier.label} {format_bytes(size)}" for tier, size in thresholds.items()
                       if size is not None)
    head = (f"memwarden monitor: {what}, {sample.metric} against "
            f"{format_bytes(sample.limit.limit_bytes)} ({sample.limit.source or '-'})")
    return head + (f"\ntiers: {ladder}" if ladder else "")


def _parts(sample: Sample, tier: Tier) -> tuple[list[str], list[str]]:
    """The line's parts: those always shown, and those shown while they fit."""
    ratio = sample.usage_ratio
    headroom_bytes = sample.headroom_bytes
    headroom = (f"over by {format_bytes(-headroom_bytes)}"
                if headroom_bytes is not None and headroom_bytes < 0
                else f"headroom {format_bytes(headroom_bytes)}")
    figures = (f"{format_bytes(sample.measured_bytes)}/{format_bytes(sample.limit.limit_bytes)}"
               + (f" {ratio:.0%}" if ratio is not None else ""))
    core = [f"{tier.label.upper():<8} {figures}", headroom]
    extra = []
    if sample.tree is not None:
        extra.append(f"{len(sample.tree.processes)} proc")
    pressure = sample.cgroup_pressure or sample.pressure
    if pressure is not None:
        extra.append(f"psi {pressure.some.avg10:.1f}%")
    return core, extra


def _fit(core: list[str], extra: list[str], width: int) -> str:
    line = "  ".join(core)
    for part in extra:
        if len(line) + 2 + len(part) <= width:
            line += "  " + part
    return line


def _plain_line(sample: Sample, tier: Tier) -> str:
    """One line per sample for logs and pipes: a timestamp, at most 80 columns."""
    core, extra = _parts(sample, tier)
    first, *rest = core
    return _fit([f"{_stamp(sample.time_s)} {first}", *rest], extra, PLAIN_WIDTH)


def _live_line(sample: Sample, tier: Tier, history: deque[int]) -> str:
    from memwarden.report.sparkline import sparkline

    width = shutil.get_terminal_size((80, 20)).columns - 1
    core, extra = _parts(sample, tier)
    line = _fit(core, extra, width - MIN_SPARK - 2)
    room = width - len(line) - 2
    if room >= MIN_SPARK:
        line += "  " + sparkline(list(history), width=min(SPARK_POINTS, room))
    return "\r" + styled(line[:width], fg=TIER_COLOURS[tier]) + "\x1b[K"
