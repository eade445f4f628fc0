"""`memwarden run` names the culprit that the program's own guardian found."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from leaks.shapes import REGISTRY

from tests.helpers import child_env, memwarden_cmd

DEADLINE_S = 150.0  # readiness on a loaded machine, not a speed claim


def test_supervisor_leak_line_names_the_programs_culprit(
        tmp_path: Path, reaper: list[subprocess.Popen[bytes]]) -> None:
    program = tmp_path / "registry_leak.py"
    program.write_text(REGISTRY.source(interval="200ms"))
    err_path = tmp_path / "supervisor.err"
    scratch = tmp_path / "tmp"  # where the supervisor keeps its programs' answers
    scratch.mkdir()
    with open(err_path, "wb") as err:
        sup = subprocess.Popen(
            [*memwarden_cmd("run", "--limit", "4G", "--interval", "100ms", "--leak-window",
                            "10s", "--control-socket", str(tmp_path / "control.sock")),
             "--", sys.executable, str(program)],
            stdout=subprocess.DEVNULL, stderr=err, process_group=0,
            env=child_env(MEMWARDEN_LEAK_MIN_WINDOW="10s", MEMWARDEN_LEAK_TRACE_WINDOW="3s",
                          TMPDIR=str(scratch)))
    reaper.append(sup)
    deadline = time.monotonic() + DEADLINE_S
    log = ""
    while time.monotonic() < deadline and "culprit:" not in log and "leak culprit" not in log:
        time.sleep(0.5)
        log = err_path.read_text()
    os.killpg(sup.pid, signal.SIGTERM)
    sup.wait(timeout=60)
    log = err_path.read_text()
    named = [ln for ln in log.splitlines() if "[registry_leak]" in ln and "culprit" in ln]
    assert named, log
    assert "app_registry.sessions" in named[0] and "Session" in named[0], named[0]
    print(named[0])
    assert not list(scratch.glob("memwarden-leak-*")), "the answers' directory was left behind"
