"""Each leak shape, built by a small program under the guardian, is named in its log line;
the healthy shapes raise nothing. Shortened: history 10 s, tracemalloc window 3 s, samples
every 200 ms, all programs of a kind run side by side (the bench runs them at full length)."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

from leaks.shapes import HEALTHY, LEAKS, Shape

from tests.helpers import child_env

SHORT = {"MEMWARDEN_LEAK_MIN_WINDOW": "10s", "MEMWARDEN_LEAK_TRACE_WINDOW": "3s"}
LEAK_DEADLINE_S = 150.0  # a readiness deadline (a loaded machine), not a speed claim
HEALTHY_RUN_S = 25.0
KINDS = ("python_heap", "allocator_retention", "native", "unknown")


def start(shape: Shape, reaper: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", shape.source(interval="200ms")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=child_env(**SHORT), start_new_session=True)
    reaper.append(child)
    return child


def collect(children: dict[str, subprocess.Popen[bytes]], until_s: float,
            done: str | None) -> dict[str, str]:
    """Output per shape, until each printed a line with `done` (or until_s has passed)."""
    selector = selectors.DefaultSelector()
    for name, child in children.items():
        assert child.stdout is not None
        selector.register(child.stdout, selectors.EVENT_READ, name)
    text = dict.fromkeys(children, "")
    deadline = time.monotonic() + until_s
    waiting = set(children)
    while waiting and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            # os.read, not readline(): of two lines written at once (a verdict and its
            # culprit) readline() leaves the second in a buffer select() never reports.
            chunk = os.read(key.fd, 65536).decode(errors="replace")
            if not chunk:
                selector.unregister(key.fileobj)
                waiting.discard(key.data)
                continue
            text[key.data] += chunk
            if done is not None and done in text[key.data]:
                waiting.discard(key.data)
    for child in children.values():
        child.kill()
        child.wait()
    return text


def test_each_leak_shape_is_named(reaper: list[subprocess.Popen[bytes]]) -> None:
    children = {shape.name: start(shape, reaper) for shape in LEAKS}
    out = collect(children, LEAK_DEADLINE_S, done="culprit:")
    for shape in LEAKS:
        lines = [ln for ln in out[shape.name].splitlines() if "culprit:" in ln]
        assert lines, f"{shape.name}: no culprit line\n{out[shape.name]}"
        for word in shape.expect:
            assert word in lines[0], f"{shape.name}: {word!r} not in {lines[0]}"
        # The line ends "...; <classification>: <advice>": Python growth is never called
        # native (pymalloc's arenas are anonymous mappings too), a native leak next to a
        # churning cache never python_heap.
        said = [kind for kind in KINDS if f"; {kind}: " in lines[0]]
        assert said == [shape.growth], f"{shape.name}: classified {said}\n{lines[0]}"


def test_healthy_shapes_raise_nothing(reaper: list[subprocess.Popen[bytes]]) -> None:
    children = {shape.name: start(shape, reaper) for shape in HEALTHY}
    out = collect(children, HEALTHY_RUN_S, done=None)
    for shape in HEALTHY:
        assert "ready" in out[shape.name], out[shape.name]
        assert "leak:" not in out[shape.name], f"{shape.name}:\n{out[shape.name]}"
