"""SIGUSR2 and `memwarden snapshot PID` against a real child running the guardian."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import child_env

CHILD = textwrap.dedent(
    """
    import sys, threading
    import memwarden
    from memwarden.leak.deferred import attach

    sessions = {f"session-{n}": [n] for n in range(5000)}
    guardian = memwarden.start(interval="200ms")
    attach(guardian)
    open(sys.argv[1], "w").close()
    threading.Event().wait(120)
    """
)


def wait_for(predicate: Any, what: str, deadline_s: float = 60.0) -> Any:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        result = predicate()
        if result:
            return result
        # Polling a file the child writes; the deadline only costs time on failure.
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_child(tmp_path: Path, reaper: list[subprocess.Popen[bytes]], **env: str
                ) -> subprocess.Popen[bytes]:
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ready)], cwd=tmp_path,
        env=child_env(MEMWARDEN_SNAPSHOT_DIR=str(tmp_path / "snaps"), **env),
        start_new_session=True, stderr=subprocess.PIPE,
    )
    reaper.append(child)
    (tmp_path / "snaps").mkdir()
    wait_for(lambda: ready.exists() or child.poll() is not None, "the child to start")
    assert child.poll() is None, child.stderr.read() if child.stderr else ""
    return child


def snapshots(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "snaps").glob("memwarden-snapshot-*.json"))


def test_sigusr2_writes_a_snapshot(tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
                                   ) -> None:
    child = start_child(tmp_path, reaper)
    os.kill(child.pid, signal.SIGUSR2)
    [path] = wait_for(lambda: snapshots(tmp_path), "a snapshot file")
    assert path.name.startswith(f"memwarden-snapshot-{child.pid}-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["pid"] == child.pid
    owners = {c["owner"]: c["items"] for c in document["containers"]}
    assert owners["__main__:sessions"] == 5000
    assert child.poll() is None  # the signal did not kill it


def test_cli_snapshot_pid(tmp_path: Path, reaper: list[subprocess.Popen[bytes]],
                          run_cli: Any) -> None:
    child = start_child(tmp_path, reaper)
    result = run_cli("snapshot", str(child.pid))
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == tmp_path / "snaps"
    assert json.loads(path.read_text())["pid"] == child.pid


def test_cli_snapshot_with_another_signal(tmp_path: Path, reaper: list[subprocess.Popen[bytes]],
                                          run_cli: Any) -> None:
    child = start_child(tmp_path, reaper, MEMWARDEN_SNAPSHOT_SIGNAL="SIGUSR1")
    result = run_cli("snapshot", str(child.pid), "--signal", "USR1")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).exists()


def test_cli_snapshot_missing_pid_exits_2(run_cli: Any) -> None:
    result = run_cli("snapshot", "999999999")
    assert result.returncode == 2
    assert "no process with pid 999999999" in result.stderr


def test_cli_snapshot_refuses_a_process_without_the_handler(
    reaper: list[subprocess.Popen[bytes]], run_cli: Any
) -> None:
    plain = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             start_new_session=True)
    reaper.append(plain)
    result = run_cli("snapshot", str(plain.pid))
    assert result.returncode == 2
    assert "does not handle signal" in result.stderr
    assert plain.poll() is None  # SIGUSR2 was not sent: it would have killed it


def test_cli_snapshot_bad_signal_exits_2(run_cli: Any) -> None:
    result = run_cli("snapshot", str(os.getpid()), "--signal", "SIGNOPE")
    assert result.returncode == 2
    assert "SIGNOPE" in result.stderr


@pytest.mark.parametrize("timeout", ["1s"])
def test_cli_snapshot_times_out_with_exit_2(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]], run_cli: Any, timeout: str
) -> None:
    # A process that catches SIGUSR2 but writes nothing: "no guardian answering".
    code = ("import signal, sys, threading; signal.signal(signal.SIGUSR2, lambda *a: None); "
            "open(sys.argv[1], 'w').close(); threading.Event().wait(120)")
    ready = tmp_path / "ready"
    mute = subprocess.Popen([sys.executable, "-c", code, str(ready)], start_new_session=True)
    reaper.append(mute)
    wait_for(ready.exists, "the mute child")
    result = run_cli("snapshot", str(mute.pid), "--dir", str(tmp_path), "--timeout", timeout)
    assert result.returncode == 2
    assert "no snapshot from pid" in result.stderr
