"""Leak events per program: the tree's RSS floor rising steadily, with its rate and ETA.

Each program's tree RSS samples feed a LeakDetector (memwarden.leak: trough-preserving
history, Theil-Sen slope, Mann-Kendall test, `confirm` agreeing evaluations before a verdict
flips). A flip is one log line: `leak: tree RSS floor rising 120.0 MiB/h (...), reaches the
limit in 2h10m` when it starts, `leak: tree RSS no longer rising` when it clears. A new
generation starts a fresh history (a restart resets the memory). `leak_window` (TOML;
`--leak-window`) is the least history a verdict needs; `off` disables it. The detector and
its statistics are only imported once a program is sampled with it on.
"""

from __future__ import annotations

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from memwarden.leak.detector import LeakDetector
    from memwarden.sample import Sample
    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.program import ProgramRun

BUCKETS_PER_WINDOW = 100


class LeakEvents:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.detectors: dict[str, tuple[int, LeakDetector]] = {}

    def feed(self, run: ProgramRun, sample: Sample) -> None:
        window_s = run.config.leak_window_s
        if window_s is None or sample.tree is None or run.pid is None:
            return
        entry = self.detectors.get(run.name)
        if entry is None or entry[0] != run.pid:
            from memwarden.leak.detector import LeakDetector

            resolution_s = max(run.config.memory.interval_s, window_s / BUCKETS_PER_WINDOW)
            entry = (run.pid, LeakDetector(resolution_s=resolution_s, min_window_s=window_s))
            self.detectors[run.name] = entry
        detector = entry[1]
        trend = detector.add(sample.monotonic_s, sample.tree.rss_bytes,
                             limit_bytes=sample.limit.limit_bytes)
        if trend is None:
            return
        if detector.leaking:
            from memwarden.leak.watch import describe_trend

            self.sup.sink.event("warning", f"{describe_trend(trend, 'tree RSS')} (pid "
                                f"{run.pid})", program=run.name, leak="start",
                                rate_bytes_per_h=int(trend.rate_bytes_per_h), eta_s=trend.eta_s)
        else:
            self.sup.sink.event("info", f"leak: tree RSS no longer rising (pid {run.pid})",
                                program=run.name, leak="end")
