"""memwarden's own memory in a supervised program (its census, a tracemalloc window), noted
beside the leak answer, is not the program's growth for `memwarden run` either."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

from memwarden.leak.answer import ANSWER_ENV, OWN_STEP_BYTES, OwnBytesNote, read_own_bytes
from tests.leak.run_helpers import program_table, python_argv, supervise_programs

DEADLINE_S = 120.0  # readiness on a loaded machine, not a speed claim

GROWER = """
    import os, sys, threading
    from memwarden.leak.answer import OwnBytesNote
    note = OwnBytesNote() if sys.argv[1] == "noted" else None
    held, pause = [], threading.Event()
    while True:
        held.append(bytearray(os.urandom(256 * 1024)))  # touched: it counts in RSS
        if note is not None:
            note.update(len(held) * 256 * 1024)  # as the guardian notes its census
        pause.wait(0.1)
"""


def test_note_round_trip_and_hostile_files(tmp_path: Path) -> None:
    answer = tmp_path / "program.json"
    note = OwnBytesNote({ANSWER_ENV: str(answer)})
    note.update(OWN_STEP_BYTES - 1)  # less than a step: not written
    own = str(answer) + ".own"
    assert not os.path.exists(own)
    note.update(5 * OWN_STEP_BYTES)
    assert read_own_bytes(own, os.getpid()) == 5 * OWN_STEP_BYTES
    assert read_own_bytes(own, os.getpid() + 1) is None  # another process's figure
    assert oct(os.stat(own).st_mode & 0o777) == "0o600"
    for text in ("", "12", f"{os.getpid()} -5", f"{os.getpid()} 1e9", f"{os.getpid()} NaN",
                 f"{os.getpid()} {'9' * 400}", f"{os.getpid()} 1 2", "\x00\xff"):
        Path(own).write_text(text)
        assert read_own_bytes(own, os.getpid()) is None, text
    assert read_own_bytes(str(tmp_path / "absent.own"), os.getpid()) is None
    OwnBytesNote({}).update(10 * OWN_STEP_BYTES)  # not supervised: nothing to write, no error


def test_supervisor_leaves_out_the_programs_noted_own_memory(
        tmp_path: Path, reaper: list[subprocess.Popen[bytes]]) -> None:
    program = tmp_path / "grower.py"
    program.write_text(textwrap.dedent(GROWER))
    keys = 'limit = "4G"\ninterval = "100ms"\nleak_window = "5s"\n'
    running = supervise_programs(tmp_path, [program_table(name, python_argv(program, name), keys)
                                            for name in ("noted", "plain")])
    sup, err_path = running.proc, running.err_path
    reaper.append(sup)
    deadline = time.monotonic() + DEADLINE_S
    log = ""
    while time.monotonic() < deadline and "[plain] leak: tree RSS floor rising" not in log:
        time.sleep(0.5)
        log = err_path.read_text()
    os.killpg(sup.pid, signal.SIGTERM)
    sup.wait(timeout=60)
    log = err_path.read_text()
    assert "[plain] leak: tree RSS floor rising" in log, log  # the same growth, not noted
    assert "[noted] leak" not in log, log
