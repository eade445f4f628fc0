"""`leak_bench.py shapes`: the leak and healthy programs at full length, side by side."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from _table import table

from leaks.reference import reference_source
from leaks.shapes import HEALTHY, LEAKS, Shape

SRC = Path(__file__).resolve().parent.parent.parent / "src"
LINE_CHARS = 150


def _start(source: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get(
        "PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def _watch(children: dict[str, subprocess.Popen[str]], until_s: float, done: str | None
           ) -> dict[str, list[tuple[float, str]]]:
    """Lines per child with the seconds since its 'ready', until each printed `done`."""
    selector = selectors.DefaultSelector()
    for name, child in children.items():
        assert child.stdout is not None
        selector.register(child.stdout, selectors.EVENT_READ, name)
    lines: dict[str, list[tuple[float, str]]] = {name: [] for name in children}
    ready: dict[str, float] = {}
    waiting = set(children)
    deadline = time.monotonic() + until_s
    while waiting and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            text = key.fileobj.readline()  # type: ignore[union-attr]
            name = key.data
            if not text:
                selector.unregister(key.fileobj)
                waiting.discard(name)
                continue
            now = time.monotonic()
            ready.setdefault(name, now)
            lines[name].append((now - ready[name], text.rstrip()))
            if done is not None and done in text:
                waiting.discard(name)
    for child in children.values():
        child.kill()
        child.wait()
    return lines


def _first(lines: list[tuple[float, str]], word: str) -> tuple[float, str] | None:
    return next(((t, text) for t, text in lines if word in text), None)


def shapes_main(*, speed: float, healthy_s: float, deadline_s: float) -> None:
    print(f"leak shapes at speed {speed}, shipped defaults (1 s samples, least history 1 min, "
          "tracemalloc window 20 s); goal: named within 90 s\n")
    runs = _watch({s.name: _start(s.source(speed=speed)) for s in LEAKS}, deadline_s,
                  "culprit:")
    refs = _watch({s.name: _start(reference_source(s.body, speed=speed)) for s in LEAKS},
                  120.0, "reference after")
    rows = []
    for shape in LEAKS:
        rows.append(_leak_row(shape, runs[shape.name], refs[shape.name]))
    print(table(["shape", "verdict s", "culprit s", "named", "reference s", "memwarden's line",
                 "reference (objgraph + tracemalloc by hand)"], rows))
    print(f"\nhealthy shapes, {healthy_s:.0f} s each, side by side (goal: no leak line):")
    quiet = _watch({s.name: _start(s.source(speed=speed)) for s in HEALTHY}, healthy_s, None)
    rows = []
    for shape in HEALTHY:
        alarm = _first(quiet[shape.name], "leak:")
        rows.append([shape.name, "none" if alarm is None else f"at {alarm[0]:.0f} s",
                     "-" if alarm is None else alarm[1][:LINE_CHARS]])
    print(table(["shape", "alarm", "line"], rows))


def _leak_row(shape: Shape, lines: list[tuple[float, str]], ref: list[tuple[float, str]]
              ) -> list[str]:
    verdict = _first(lines, "floor rising")
    culprit = _first(lines, "culprit:")
    reference = _first(ref, "reference after")
    named = culprit is not None and all(word in culprit[1] for word in shape.expect)
    said = culprit[1].split("culprit: ", 1)[1] if culprit else "-"
    return [shape.name, f"{verdict[0]:.0f}" if verdict else "-",
            f"{culprit[0]:.0f}" if culprit else "-", "yes" if named else "NO",
            f"{reference[0]:.0f}" if reference else "-", said[:LINE_CHARS],
            reference[1].split(": ", 1)[1][:LINE_CHARS] if reference else "-"]
