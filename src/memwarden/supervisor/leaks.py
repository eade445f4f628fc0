"""Leak events per program: the tree's RSS floor rising steadily, with its rate and ETA.

Each program's tree RSS samples feed a LeakDetector (memwarden.leak: trough-preserving
history, Theil-Sen slope, Mann-Kendall test, `confirm` agreeing evaluations before a verdict
flips). A flip is one log line: `leak: tree RSS floor rising 120.0 MiB/h (...), reaches the
limit in 2h10m` when it starts, `leak: tree RSS no longer rising` when it clears. A new
generation starts a fresh history (a restart resets the memory). `leak_window` (TOML;
`--leak-window`) is the least history a verdict needs; `off` disables it. The detector and
its statistics are only imported once a program is sampled with it on.

The culprit comes from the program itself: each spawn gets MEMWARDEN_LEAK_ANSWER, a path in
a private directory; a program running the guardian (`memwarden.start()`) writes its leak
attribution there (memwarden.leak.answer). Its files only ever arrive by rename, which moves
the directory's mtime: one stat of the directory per sample says whether anything is new.
The answer is looked for when it is, until its culprit is in the log: in the supervisor's
leak line when the answer is there by then, else in a `leak culprit` line with the same
fields as soon as it appears (the guardian, which sees the program's objects, may find the
leak before the tree RSS shows it).
The guardian's own memory (its census, a tracemalloc window), which it notes beside the
answer, is taken out of the tree RSS judged: read again when the directory moved.
"""

from __future__ import annotations

import os
import time

from memwarden.events import EventKind, Level
from memwarden.leak.answer import ANSWER_ENV, OWN_SUFFIX, read_own_bytes

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from memwarden.leak.detector import LeakDetector
    from memwarden.sample import Sample
    from memwarden.supervisor.config import ProgramConfig
    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.process import SpawnHook
    from memwarden.supervisor.program import ProgramRun

BUCKETS_PER_WINDOW = 100
SETTLED_NS = 100_000_000  # a directory mtime older than this will not move within its tick
MIN_LEAK_GROWTH_BYTES = 2 * 1024 * 1024


class LeakEvents:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.detectors: dict[str, tuple[int, LeakDetector]] = {}
        self.answered: dict[str, int] = {}  # program -> pid whose culprit is in the log
        self.own: dict[str, tuple[int, int, int]] = {}  # program -> pid, mtime_ns, own bytes
        self._dir: str | None = None
        self._looked: dict[str, tuple[int, int]] = {}  # program -> pid, directory mtime_ns

    def answer_path(self, name: str) -> str | None:
        return None if self._dir is None else os.path.join(self._dir, f"{name}.json")

    def spawn_hook(self, program: ProgramConfig) -> SpawnHook | None:
        """MEMWARDEN_LEAK_ANSWER for the program, when its leak watch is on."""
        if program.leak_window_s is None:
            return None
        from memwarden.supervisor.process import SpawnHook

        if self._dir is None:
            import tempfile

            self._dir = tempfile.mkdtemp(prefix="memwarden-leak-")  # 0700
            if self.sup.sentinel is not None:  # removed even if the supervisor is SIGKILLed
                self.sup.sentinel.add_dir(self._dir)
        path = os.path.join(self._dir, f"{program.name}.json")
        for stale in (path, path + OWN_SUFFIX):  # the last generation's are not this one's
            if os.path.exists(stale):
                os.unlink(stale)
        return SpawnHook(env={ANSWER_ENV: path})

    def close(self) -> None:
        if self._dir is None:
            return
        import shutil

        if self.sup.sentinel is not None:
            self.sup.sentinel.remove_dir(self._dir)
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def scratch_dirs(self) -> list[str]:
        """What a new sentinel must remove if the supervisor dies."""
        return [] if self._dir is None else [self._dir]

    def feed(self, run: ProgramRun, sample: Sample) -> None:
        window_s = run.config.leak_window_s
        if window_s is None or sample.tree is None or run.pid is None:
            return
        entry = self.detectors.get(run.name)
        if entry is None or entry[0] != run.pid:
            from memwarden.leak.detector import LeakDetector

            resolution_s = max(run.config.memory.interval_s, window_s / BUCKETS_PER_WINDOW)
            # 2 MiB at least: a program's guardian grows ~1 MiB while its history fills.
            entry = (run.pid, LeakDetector(resolution_s=resolution_s, min_window_s=window_s,
                                           min_growth_bytes=MIN_LEAK_GROWTH_BYTES))
            self.detectors[run.name] = entry
        detector = entry[1]
        rss_bytes = sample.tree.rss_bytes
        moved = self._moved(run.name, run.pid)
        trend = detector.add(sample.monotonic_s,
                             rss_bytes - min(rss_bytes, self._own_bytes(run.name, run.pid, moved)),
                             limit_bytes=sample.limit.limit_bytes)
        if trend is None:
            if moved and self.answered.get(run.name) != run.pid:
                self._name_culprit(run.name, run.pid)
            return
        if detector.leaking:
            from memwarden.leak.watch import describe_trend

            answer = self._answer(run.name, run.pid)
            culprit = f"; culprit: {answer['culprit']}" if answer else ""
            self.sup.events.emit(EventKind.LEAK, f"{describe_trend(trend, 'tree RSS')} (pid "
                                 f"{run.pid}){culprit}", program=run.name, level=Level.WARNING,
                                 tier=run.tier.label, phase="detected", pid=run.pid,
                                 metric="tree_rss_bytes",
                                 rate_bytes_per_h=int(trend.rate_bytes_per_h),
                                 eta_s=trend.eta_s, **_answer_fields(answer))
            if answer is not None:
                self.answered[run.name] = run.pid
        else:
            self.sup.events.emit(EventKind.LEAK, f"leak: tree RSS no longer rising (pid "
                                 f"{run.pid})", program=run.name, tier=run.tier.label,
                                 phase="cleared", pid=run.pid)
            if moved and self.answered.get(run.name) != run.pid:  # an answer came meanwhile
                self._name_culprit(run.name, run.pid)

    def _moved(self, name: str, pid: int) -> bool:
        """Whether the answers' directory changed since name's process pid last looked (a
        new process looks once). Its files arrive by rename: a write moves its mtime."""
        if self._dir is None:
            return False
        try:
            mtime_ns = os.stat(self._dir).st_mtime_ns
        except OSError:
            return True  # gone from under us: the readers below say so
        if self._looked.get(name) == (pid, mtime_ns):
            return False
        # A timestamp is coarse (a clock tick): a second rename within the tick of the one
        # just seen leaves it as it is. A change that recent is looked at again next time.
        recent = time.time_ns() - mtime_ns < SETTLED_NS
        self._looked[name] = (pid, 0 if recent else mtime_ns)
        return True

    def _own_bytes(self, name: str, pid: int, moved: bool) -> int:
        """The program's guardian's own memory, as it last noted it (0 if it did not)."""
        known = self.own.get(name)
        if not moved:
            return known[2] if known is not None and known[0] == pid else 0
        path = self.answer_path(name)
        if path is None:
            return 0
        try:
            mtime_ns = os.stat(path + OWN_SUFFIX).st_mtime_ns
        except OSError:
            self.own.pop(name, None)
            return 0
        if known is not None and known[:2] == (pid, mtime_ns):
            return known[2]
        own_bytes = read_own_bytes(path + OWN_SUFFIX, pid) or 0
        self.own[name] = (pid, mtime_ns, own_bytes)
        return own_bytes

    def _answer(self, name: str, pid: int) -> dict[str, object] | None:
        path = self.answer_path(name)
        if path is None:
            return None
        from memwarden.leak.answer import read_answer

        return read_answer(path, pid)

    def _name_culprit(self, name: str, pid: int) -> None:
        """The program's guardian answered (before the supervisor's verdict, or after it):
        a line of its own names the culprit, once per process."""
        path = self.answer_path(name)
        if path is None or not os.path.exists(path):
            return
        answer = self._answer(name, pid)
        if answer is None:
            return
        self.answered[name] = pid
        run = self.sup.runs[name]
        self.sup.events.emit(EventKind.LEAK, f"leak culprit (pid {pid}): {answer['culprit']}; "
                             f"{answer.get('classification')}", program=name,
                             level=Level.WARNING, tier=run.tier.label, phase="attributed",
                             pid=pid, **_answer_fields(answer))


def _answer_fields(answer: dict[str, object] | None) -> dict[str, object]:
    if answer is None:
        return {}
    return {"culprit": answer.get("culprit"), "classification": answer.get("classification"),
            "owner_path": answer.get("owner_path"), "growing_type": answer.get("growing_type"),
            "top_site": answer.get("top_site")}
