"""A tree that did not move is sampled at the slowest rate; the first change brings back the
leak window's pace. A real program, sampled by the real monitor (no loop, no clock asserted:
the delay each sample schedules is read back)."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.supervisor.config import load_supervisor_config
from memwarden.supervisor.loop import Supervisor
from memwarden.supervisor.program import ProgramRun
from tests.supervisor.sup_helpers import wait_for

# Grows 16 MiB (pages written, so RSS moves) on each SIGUSR1, and says so in a file.
GROWS_ON_SIGNAL = """
    import signal, sys
    held = []
    def grow(*_):
        held.append(b"x" * (16 << 20))
        with open(sys.argv[1], "a") as f:
            f.write("grown\\n")
    signal.signal(signal.SIGUSR1, grow)
    with open(sys.argv[1], "a") as f:
        f.write("ready\\n")
    while True:
        signal.pause()
"""


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[Supervisor, ProgramRun, Path]]:
    script, said = tmp_path / "grows.py", tmp_path / "said"
    script.write_text(textwrap.dedent(GROWS_ON_SIGNAL))
    # 1M/s: the gap to the threshold never shortens the wait; the leak window is the default.
    config = load_supervisor_config({"cgroup": False, "limit": "4G", "max_alloc_rate": "1M/s"},
                                    (sys.executable, str(script), str(said)))
    sup = Supervisor(config)
    run = next(iter(sup.runs.values()))
    sup.runner.start(run)
    try:
        wait_for(lambda: said.exists() and "ready" in said.read_text(), what="the program")
        yield sup, run, said
    finally:
        if run.pid is not None:
            os.kill(run.pid, signal.SIGKILL)
            os.waitpid(run.pid, 0)
        sup.sockets.close()


def _scheduled_delay_s(sup: Supervisor, run: ProgramRun) -> tuple[float, float]:
    """The delay the sample scheduled, within (low, high): the call's own time is unknown."""
    before_s = time.monotonic()
    sup.memory.sample(run)
    after_s = time.monotonic()
    return run.next_sample_s - after_s, run.next_sample_s - before_s


def _schedules(sup: Supervisor, run: ProgramRun, delay_s: float) -> bool:
    low_s, high_s = _scheduled_delay_s(sup, run)
    return low_s <= delay_s <= high_s


def test_a_still_tree_waits_the_slowest_interval_and_a_moving_one_the_leak_pace(
    started: tuple[Supervisor, ProgramRun, Path],
) -> None:
    sup, run, said = started
    leak_paced_s = sup.memory.slowest_s(run)
    still_s = sup.memory.slowest_s(run, still=True)
    assert (leak_paced_s, still_s) == (1.0, 2.0)  # 60 points a 1 min window; 20 x 100 ms

    # The first sample (full) decides at the leak pace; once nothing moves, the slowest.
    wait_for(lambda: _schedules(sup, run, still_s), what="a sample of the tree at rest")
    rss_at_rest = run.figures()["tree_rss_bytes"]

    assert run.pid is not None
    os.kill(run.pid, signal.SIGUSR1)
    wait_for(lambda: "grown" in said.read_text(), what="the program to grow")
    assert _schedules(sup, run, leak_paced_s)  # the tree moved: a point a second again
    assert run.figures()["tree_rss_bytes"] >= rss_at_rest + 15 * 1024 * 1024
    wait_for(lambda: _schedules(sup, run, still_s), what="the tree at rest again")


def test_a_still_tree_is_fed_to_the_leak_detector_every_time(
    started: tuple[Supervisor, ProgramRun, Path],
) -> None:
    """Resting is no gap in the leak history: each sample is a point, moved or not."""
    sup, run, _said = started
    wait_for(lambda: _schedules(sup, run, sup.memory.slowest_s(run, still=True)),
             what="a sample of the tree at rest")
    detector = sup.leaks.detectors[run.name][1]
    before = detector.samples
    for _ in range(5):
        sup.memory.sample(run)
    assert detector.samples == before + 5
