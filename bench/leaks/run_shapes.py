"""`leak_bench.py shapes`: the leak and healthy programs at full length, side by side, under
the guardian alone (`python -c SHAPE`) and/or under the supervisor
(`memwarden run --limit 4G -- python -c SHAPE`; the shape still calls memwarden.start(), so
its guardian can give the supervisor the culprit).
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from _table import table

from leaks.reference import reference_source
from leaks.shapes import HEALTHY, LEAKS, Shape
from memwarden.leak.classify import GrowthKind

SRC = Path(__file__).resolve().parent.parent.parent / "src"
LINE_CHARS = 150
TAIL_LINES = 6
STOP_GRACE_S = 30.0  # a supervisor stops its program gracefully before it exits
CULPRIT = re.compile(r"culprit(?: \(pid \d+\))?: (.*)")
Lines = list[tuple[float, str]]  # (seconds since the program said "ready", line)


@dataclass(frozen=True, slots=True)
class Under:
    """What runs a shape, and which of its log lines are the verdicts it is judged by."""

    name: str
    prefix: tuple[str, ...]  # the command before `python -c SOURCE`; {socket}: a path
    said: Callable[[str], bool]  # a line of the judged log (not the program's own output)
    verdict: str  # the words of its leak verdict

    def command(self, source: str, socket: str) -> list[str]:
        """Each supervisor its own control socket (two cannot share the default one)."""
        return [*(a.format(socket=socket) for a in self.prefix), sys.executable, "-c", source]

    def culprit(self, text: str) -> str | None:
        found = CULPRIT.search(text) if self.said(text) else None
        return found.group(1) if found else None

    def is_verdict(self, text: str) -> bool:
        return self.said(text) and self.verdict in text

    def alarm(self, text: str) -> bool:
        """A verdict or a culprit: either in a healthy program's log is a false alarm."""
        return self.is_verdict(text) or self.culprit(text) is not None


GUARDIAN = Under("guardian", (), lambda text: True, "floor rising")
# The supervisor's own lines are "<time> memwarden <level>: [program] ..."; its program's
# output (the guardian's lines among it) comes as "<time> [program] ...".
RUN = Under("memwarden run", (sys.executable, "-m", "memwarden", "run", "--limit", "4G",
                              "--control-socket", "{socket}", "--"),
            lambda text: "memwarden warning: [" in text, "leak: tree RSS floor rising")
UNDER = {"guardian": (GUARDIAN,), "run": (RUN,), "both": (GUARDIAN, RUN)}


def _start(argv: list[str]) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get(
        "PYTHONPATH", "")]))
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)


def _is_ready(text: str) -> bool:
    return text == "ready" or text.endswith("] ready")  # alone, or relayed by `memwarden run`


def _watch(children: dict[str, subprocess.Popen[str]], until_s: float,
           done: Callable[[str], bool] | None) -> dict[str, Lines]:
    """Lines per child with the seconds since its 'ready', until each printed a `done` line."""
    selector = selectors.DefaultSelector()
    for name, child in children.items():
        assert child.stdout is not None
        selector.register(child.stdout, selectors.EVENT_READ, name)
    seen: dict[str, Lines] = {name: [] for name in children}
    partial = dict.fromkeys(children, "")
    waiting = set(children)
    deadline = time.monotonic() + until_s
    try:
        while waiting and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1.0):
                name = key.data
                # os.read, not readline(): of two lines written at once (a verdict and its
                # culprit) readline() leaves the second in a buffer select() never reports.
                chunk = os.read(key.fd, 65536).decode(errors="replace")
                if not chunk:
                    selector.unregister(key.fileobj)
                    waiting.discard(name)
                    continue
                *lines, partial[name] = (partial[name] + chunk).split("\n")
                for text in lines:
                    seen[name].append((time.monotonic(), text.rstrip()))
                    if done is not None and done(text):
                        waiting.discard(name)
    finally:  # also when the bench is interrupted: a leak left running eats the machine
        _stop(children.values())
    return {name: _since_ready(lines) for name, lines in seen.items()}


def _stop(children: Iterable[subprocess.Popen[str]]) -> None:
    """SIGTERM each session (a supervisor then stops its program and removes its cgroup)."""
    running = list(children)
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
    for child in running:
        try:
            child.communicate(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()


def _since_ready(lines: Lines) -> Lines:
    start = next((t for t, text in lines if _is_ready(text)), lines[0][0] if lines else 0.0)
    return [(t - start, text) for t, text in lines]


def _first(lines: Lines, test: Callable[[str], object]) -> tuple[float, str] | None:
    return next(((t, text) for t, text in lines if test(text)), None)


def shapes_main(*, speed: float, healthy_s: float, deadline_s: float, under: str) -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="leak-bench-") as sockets:
        _shapes(speed=speed, healthy_s=healthy_s, deadline_s=deadline_s, runners=UNDER[under],
                sockets=Path(sockets))


def _shapes(*, speed: float, healthy_s: float, deadline_s: float, runners: tuple[Under, ...],
            sockets: Path) -> None:
    """deadline_s 0: no leak tables; healthy_s 0: no healthy table."""
    if deadline_s > 0:
        _leak_tables(speed, deadline_s, runners, sockets)
    if healthy_s > 0:
        _healthy_table(speed, healthy_s, runners, sockets)


def _leak_tables(speed: float, deadline_s: float, runners: tuple[Under, ...], sockets: Path
                 ) -> None:
    print(f"leak shapes at speed {speed}, shipped defaults (1 s samples, least history 1 min, "
          "tracemalloc window 20 s; `memwarden run`: --limit 4G, leak window 1 min); goal: "
          "named within 90 s\n")
    refs = _watch({s.name: _start([sys.executable, "-c", reference_source(s.body, speed=speed)])
                   for s in LEAKS}, 120.0, lambda text: "reference after" in text)
    for how in runners:
        runs = _watch({s.name: _start(how.command(s.source(speed=speed),
                                                  str(sockets / f"{s.name}.sock")))
                       for s in LEAKS},
                      deadline_s, lambda text, how=how: how.culprit(text) is not None)
        inner = [] if how is GUARDIAN else ["its guardian's verdict s"]
        print(f"leaks under {how.name}:")
        print(table(["shape", "verdict s", "culprit s", "named", "classified", *inner,
                     "reference s",
                     f"{how.name}'s line", "reference (objgraph + tracemalloc by hand)"],
                    [_leak_row(how, s, runs[s.name], refs[s.name]) for s in LEAKS]))
        for shape in LEAKS:  # what an unnamed one printed last, to see why
            if _first(runs[shape.name], how.culprit) is None:
                print(f"{shape.name} under {how.name}, its last lines:")
                for t, text in runs[shape.name][-TAIL_LINES:]:
                    print(f"  {t:6.0f} s  {text[:LINE_CHARS]}")
        print()


def _healthy_table(speed: float, healthy_s: float, runners: tuple[Under, ...], sockets: Path
                   ) -> None:
    print(f"healthy shapes, {healthy_s:.0f} s each, side by side (goal: no leak line):")
    quiet = _watch({f"{how.name}:{s.name}": _start(how.command(
        s.source(speed=speed), str(sockets / f"{how.name}-{s.name}.sock"))) for how in runners
        for s in HEALTHY}, healthy_s, None)
    rows = []
    for how in runners:
        for shape in HEALTHY:
            lines = quiet[f"{how.name}:{shape.name}"]
            alarm = _first(lines, how.alarm)
            # Under `memwarden run`, the program's guardian speaks too (relayed lines).
            inner = _inner_alarm(how, lines)
            rows.append([how.name, shape.name,
                         "none" if alarm is None else f"at {alarm[0]:.0f} s",
                         "-" if alarm is None else alarm[1][:LINE_CHARS],
                         "-" if how is GUARDIAN else
                         "none" if inner is None else f"at {inner[0]:.0f} s"])
    print(table(["under", "shape", "alarm", "line", "its guardian's alarm"], rows))


def _inner_alarm(how: Under, lines: Lines) -> tuple[float, str] | None:
    """Under `memwarden run`: the program's guardian's first leak line (relayed)."""
    return _first(lines, lambda text: not how.said(text) and GUARDIAN.alarm(text))


GROWTH_KINDS = typing.get_args(GrowthKind)


def _seconds(found: tuple[float, str] | None) -> str:
    return f"{found[0]:.0f}" if found else "-"


def _leak_row(how: Under, shape: Shape, lines: Lines, ref: Lines) -> list[str]:
    culprit = _first(lines, how.culprit)
    reference = _first(ref, lambda text: "reference after" in text)
    said = how.culprit(culprit[1]) if culprit else None
    named = said is not None and all(word in said for word in shape.expect)
    inner = [] if how is GUARDIAN else [_seconds(_inner_alarm(how, lines))]
    # The classification the line ends with ("...; python_heap: <advice>", or "; python_heap"
    # in the supervisor's log), as the shape expects it (or "-" when the line gives none).
    kinds = [k for k in GROWTH_KINDS
             if said is not None and (f"; {k}: " in said or said.endswith(f"; {k}"))]
    classified = "-" if not kinds else kinds[0] + ("" if kinds[0] == shape.growth else " (NO)")
    return [shape.name, _seconds(_first(lines, how.is_verdict)), _seconds(culprit),
            "yes" if named else "NO", classified, *inner, _seconds(reference),
            (said or "-")[:LINE_CHARS],
            reference[1].split(": ", 1)[1][:LINE_CHARS] if reference else "-"]
