"""`memwarden run` names the culprit that each program's own guardian found: a leak held in a
registry, a handler list on a logger, native memory next to a churning cache. Shortened (leak
window 10 s, tracemalloc window 3 s); the bench runs every shape at full length."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from leaks.shapes import HANDLERS, NATIVE_NEXT_TO_CACHE, REGISTRY

from tests.leak.run_helpers import program_table, python_argv, supervise_programs

DEADLINE_S = 180.0  # readiness on a loaded machine, not a speed claim
SHAPES = (REGISTRY, HANDLERS, NATIVE_NEXT_TO_CACHE)


def culprit_lines(log: str, program: str) -> list[str]:
    """The supervisor's own lines naming a culprit (not the program's relayed output)."""
    return [ln for ln in log.splitlines()
            if f"memwarden warning: [{program}]" in ln and "culprit" in ln]


def test_supervisor_leak_lines_name_each_programs_culprit(
        tmp_path: Path, reaper: list[subprocess.Popen[bytes]]) -> None:
    tables = []
    for shape in SHAPES:
        program = tmp_path / f"{shape.name}.py"
        program.write_text(shape.source(interval="200ms"))
        tables.append(program_table(shape.name, python_argv(program),
                                    'limit = "4G"\ninterval = "100ms"\nleak_window = "10s"\n'))
    scratch = tmp_path / "tmp"  # where the supervisor keeps its programs' answers
    scratch.mkdir()
    running = supervise_programs(tmp_path, tables, MEMWARDEN_LEAK_MIN_WINDOW="10s",
                                 MEMWARDEN_LEAK_TRACE_WINDOW="3s", TMPDIR=str(scratch))
    sup, err_path = running.proc, running.err_path
    reaper.append(sup)
    deadline = time.monotonic() + DEADLINE_S
    log = ""
    while time.monotonic() < deadline and not all(culprit_lines(log, s.name) for s in SHAPES):
        time.sleep(0.5)
        log = err_path.read_text()
    os.killpg(sup.pid, signal.SIGTERM)
    sup.wait(timeout=60)
    log = err_path.read_text()
    for shape in SHAPES:
        named = culprit_lines(log, shape.name)
        assert named, f"{shape.name}: no culprit in the supervisor's log\n{log}"
        for word in shape.expect:
            assert word in named[0], f"{shape.name}: {word!r} not in {named[0]}"
    assert not list(scratch.glob("memwarden-leak-*")), "the answers' directory was left behind"


ANSWERS_AT_ONCE = """
import os, sys, threading
from memwarden.leak.answer import write_answer
if sys.argv[1] == "other":  # an answer another process wrote is not this program's
    pid = os.fork()
    if pid == 0:
        write_answer({"culprit": "a child's answer", "classification": "python_heap"})
        os._exit(0)
    os.waitpid(pid, 0)
else:
    write_answer({"culprit": "app.cache holds app.Item", "classification": "python_heap"})
print("answered", flush=True)
threading.Event().wait()
"""


def test_supervisor_names_an_answer_that_comes_before_its_own_verdict(
        tmp_path: Path, reaper: list[subprocess.Popen[bytes]]) -> None:
    """The program's guardian may find a leak before the tree RSS shows one: its culprit is
    in the supervisor's log at once, without the supervisor's own verdict."""
    program = tmp_path / "answers.py"
    program.write_text(ANSWERS_AT_ONCE)
    running = supervise_programs(
        tmp_path, [program_table(name, python_argv(program, name), 'interval = "100ms"\n')
                   for name in ("own", "other")], stdout=subprocess.PIPE)
    sup, err_path = running.proc, running.err_path
    reaper.append(sup)
    assert sup.stdout is not None
    answered = 0
    while answered < 2:  # both programs wrote their answers (readiness, no timing)
        line = sup.stdout.readline()
        assert line, err_path.read_text()
        answered += b"answered" in line
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline and not culprit_lines(err_path.read_text(), "own"):
        time.sleep(0.2)
    time.sleep(1.0)  # a few samples more: the other program's answer must stay unread
    os.killpg(sup.pid, signal.SIGTERM)
    sup.communicate(timeout=60)
    log = err_path.read_text()
    named = culprit_lines(log, "own")
    assert len(named) == 1, log  # once, not at every sample
    assert "leak culprit (pid " in named[0] and "app.cache holds app.Item; python_heap" in named[0]
    assert "leak: tree RSS" not in log  # flat memory: no verdict of the supervisor's own
    assert not culprit_lines(log, "other"), log
