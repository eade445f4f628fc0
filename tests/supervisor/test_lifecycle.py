"""Children die with the supervisor; as PID 1 it reaps orphans and forwards SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

FAMILY = """
    import os, subprocess, sys, threading
    # A grandchild in the same process group, and a great-grandchild: none has pdeathsig.
    idle = "import threading; threading.Event().wait(600)"
    code = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {idle!r}]); {idle}"
    grandchild = subprocess.Popen([sys.executable, "-c", code])
    with open(sys.argv[1], "w") as f:
        f.write(f"{os.getpid()} {grandchild.pid}")
    threading.Event().wait(600)
"""


def test_sigkill_of_the_supervisor_leaves_no_child(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    sup = supervise(command=[*script("family", FAMILY), str(ready)])
    wait_for(ready.exists, what="child ready")
    wait_for(lambda: len(tagged_pids(sup.tag)) >= 5, what="supervisor, sentinel, 3 processes")
    family = {*map(int, ready.read_text().split())}
    assert family <= tagged_pids(sup.tag)
    os.kill(sup.proc.pid, signal.SIGKILL)
    assert sup.exit_code() == -signal.SIGKILL
    # pdeathsig kills the child; the sentinel kills the rest of its process group.
    wait_for(lambda: not tagged_pids(sup.tag), what="every child gone after SIGKILL")


ORPHAN_MAKER = """
    import os, signal, sys, threading
    go, done, term = sys.argv[1], sys.argv[2], sys.argv[3]
    signal.signal(signal.SIGTERM, lambda *_: (open(term, "w").close(), sys.exit(0)))
    middle = os.fork()
    if middle == 0:
        orphan = os.fork()
        if orphan == 0:  # re-parented to PID 1 when `middle` exits; exits when told to
            while not os.path.exists(go):
                threading.Event().wait(0.02)
            os._exit(0)
        with open(done, "w") as f:
            f.write(str(orphan))
        os._exit(0)
    os.waitpid(middle, 0)
    threading.Event().wait(600)
"""


def _unshare_reason() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    if os.geteuid() != 0:
        return "a PID namespace needs root"
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare --pid fails here: {probe.stderr.decode(errors='replace').strip()}"
    return None


def test_pid1_reaps_orphaned_zombie_and_forwards_sigterm(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    reason = _unshare_reason()
    if reason:
        pytest.skip(reason)
    go, done, term = tmp_path / "go", tmp_path / "done", tmp_path / "term"
    command = [*script("orphans", ORPHAN_MAKER), str(go), str(done), str(term)]
    sup = supervise(command=command, prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    # The file appears before its pid is written: wait for the content, not the name.
    wait_for(lambda: done.exists() and done.read_text().strip(), what="orphan created")
    orphan_ns_pid = int(done.read_text())
    sup.wait_log("as PID 1")
    go.touch()  # the orphan exits: a zombie only PID 1 can reap
    sup.wait_log(f"reaped orphan pid {orphan_ns_pid} (exited with status 0)")
    # SIGTERM to memwarden (PID 1 inside; unshare's child outside) is forwarded to the program.
    memwarden_pid = wait_for(lambda: _only_child(sup.proc.pid), what="memwarden under unshare")
    assert isinstance(memwarden_pid, int)
    os.kill(memwarden_pid, signal.SIGTERM)
    assert sup.exit_code() == 0
    assert term.exists()  # the program's own SIGTERM handler ran
    assert "SIGTERM received" in sup.log


def _only_child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if len(children) == 1 else None
