"""The supervisor looks at a program's leak answers only when their directory moved: every
note arrives by rename, and notes written back to back (within one timestamp tick) are each
read."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest

from memwarden.events import Event, EventKind
from memwarden.leak.answer import OWN_SUFFIX
from memwarden.supervisor.config import load_supervisor_config
from memwarden.supervisor.loop import Supervisor
from memwarden.supervisor.program import ProgramRun

MIB = 1024 * 1024


@pytest.fixture
def started() -> Iterator[tuple[Supervisor, ProgramRun]]:
    sup = Supervisor(load_supervisor_config({"cgroup": False, "limit": "4G"}, ("sleep", "600")))
    run = next(iter(sup.runs.values()))
    sup.runner.start(run)
    try:
        yield sup, run
    finally:
        if run.pid is not None:
            os.kill(run.pid, signal.SIGKILL)
            os.waitpid(run.pid, 0)
        sup.leaks.close()
        sup.sockets.close()


def _note(path: str, pid: int, own_bytes: int) -> None:
    """As the guardian writes it: a temporary file, renamed over the note."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{pid} {own_bytes}\n")
    os.replace(tmp, path)


def _own_bytes(sup: Supervisor, run: ProgramRun) -> int:
    assert run.pid is not None
    leaks = sup.leaks
    return leaks._own_bytes(run.name, run.pid, leaks._moved(run.name, run.pid))


def test_back_to_back_notes_are_each_read_and_a_quiet_directory_keeps_the_last(
    started: tuple[Supervisor, ProgramRun],
) -> None:
    sup, run = started
    assert run.pid is not None
    answer = sup.leaks.answer_path(run.name)
    assert answer is not None
    own = answer + OWN_SUFFIX
    assert _own_bytes(sup, run) == 0  # nothing noted yet
    for noted_bytes in (5 * MIB, 7 * MIB, 6 * MIB):
        _note(own, run.pid, noted_bytes)
        assert _own_bytes(sup, run) == noted_bytes
    assert _own_bytes(sup, run) == 6 * MIB  # nothing new: the last figure

    # Two notes within one timestamp tick: the directory's mtime does not move the second
    # time (as on a filesystem with coarse timestamps); the second note is read all the same.
    directory = os.path.dirname(own)
    _note(own, run.pid, 8 * MIB)
    tick_ns = os.stat(directory).st_mtime_ns
    assert _own_bytes(sup, run) == 8 * MIB
    _note(own, run.pid, 3 * MIB)
    os.utime(directory, ns=(tick_ns, tick_ns))
    assert _own_bytes(sup, run) == 3 * MIB
    _note(own, run.pid + 1, 9 * MIB)  # another process's note is not this one's
    assert _own_bytes(sup, run) == 0
    os.unlink(own)
    assert _own_bytes(sup, run) == 0


def test_the_answers_directory_gone_is_no_error(started: tuple[Supervisor, ProgramRun]) -> None:
    sup, run = started
    answer = sup.leaks.answer_path(run.name)
    assert answer is not None
    sup.leaks.close()  # removes the directory; a sample after that finds nothing noted
    sup.leaks._dir = os.path.dirname(answer)
    assert _own_bytes(sup, run) == 0


class _Clearing:
    """A detector whose every point flips its verdict back to "not leaking"."""

    leaking = False

    def add(self, time_s: float, value: float, *, limit_bytes: int | None = None) -> object:
        return object()


def test_an_answer_that_arrives_as_the_verdict_clears_is_still_named(
    started: tuple[Supervisor, ProgramRun],
) -> None:
    sup, run = started
    assert run.pid is not None
    sup.memory.sample(run)  # a sample to feed again, and the answers' directory looked at
    sample = run.last_sample
    assert sample is not None
    answer = sup.leaks.answer_path(run.name)
    assert answer is not None
    events: list[Event] = []
    sup.events.subscribe(events.append)
    sup.leaks.detectors[run.name] = (run.pid, _Clearing())  # type: ignore[assignment]
    with open(answer + ".tmp", "w") as f:
        json.dump({"pid": run.pid, "culprit": "app.cache holds Item", "classification":
                   "python_heap"}, f)
    os.replace(answer + ".tmp", answer)
    sup.leaks.feed(run, sample)
    phases = [event.figures.get("phase") for event in events if event.kind == EventKind.LEAK]
    assert phases == ["cleared", "attributed"]
    sup.leaks.feed(run, sample)  # named once per process
    phases = [event.figures.get("phase") for event in events if event.kind == EventKind.LEAK]
    assert phases == ["cleared", "attributed", "cleared"]
