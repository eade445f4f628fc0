"""A private control directory, and files that never follow a planted symlink.

The other-user tests run memwarden as uid 65534 and the attacker as uid 65533 (numeric
uids need no passwd entry), in a shared sticky directory like /tmp."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memwarden.files import LOG_MODE, TRACE_MODE
from memwarden.trace import TraceWriter
from tests.supervisor.sup_helpers import Running, child_env, memwarden_cmd

VICTIM, ATTACKER = 65534, 65533


def _python_for(user: int) -> list[str]:
    """An interpreter another user can run (this one may sit in root's 0700 home), with
    this one's site-packages on its path; skips when there is none."""
    candidates = [sys.executable, f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"]
    for python in candidates:
        try:
            probe = subprocess.run([python, "-c", "pass"], user=user, group=user,
                                   extra_groups=[], capture_output=True, timeout=60)
        except OSError:
            continue
        if probe.returncode == 0:
            return [python]
    pytest.skip(f"no Python {sys.version_info[0]}.{sys.version_info[1]} that uid {user} "
                "may run")


def _memwarden(*args: str, user: int | None = None, **env: str
               ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in child_env(**env).items() if k != "XDG_RUNTIME_DIR" or
             "XDG_RUNTIME_DIR" in env}
    if user is None:
        return subprocess.run(memwarden_cmd(*args), env=clean, capture_output=True,
                              text=True, timeout=60, cwd="/")
    clean["PYTHONPATH"] += os.pathsep + sysconfig.get_paths()["purelib"]
    return subprocess.run([*_python_for(user), "-m", "memwarden", *args], env=clean,
                          capture_output=True, text=True, timeout=60, cwd="/", user=user,
                          group=user, extra_groups=[])


def test_the_default_control_directory_is_made_private_under_xdg_runtime_dir(
    supervise: Callable[..., Running], tmp_path: Path,
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    sup = supervise("--no-cgroup", control=False, command=["sleep", "600"],
                    XDG_RUNTIME_DIR=str(runtime))
    sup.wait_log("started pid")
    directory = runtime / "memwarden"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_ISSOCK((directory / "control.sock").lstat().st_mode)
    status = _memwarden("status", XDG_RUNTIME_DIR=str(runtime))
    assert status.returncode == 0 and "sleep" in status.stdout
    assert _memwarden("stop", XDG_RUNTIME_DIR=str(runtime)).returncode == 0
    assert sup.exit_code() == 0


def test_a_control_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    (runtime / "memwarden").mkdir(parents=True)
    os.chmod(runtime / "memwarden", 0o755)
    result = _memwarden("run", "--", "true", XDG_RUNTIME_DIR=str(runtime))
    assert result.returncode == 2
    assert "has mode 0755" in result.stderr and "Traceback" not in result.stderr
    result = _memwarden("status", XDG_RUNTIME_DIR=str(runtime))
    assert result.returncode == 2 and "has mode 0755" in result.stderr


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A world-writable sticky directory, like /tmp, that both users can reach."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run as two other users")
    path = Path(tempfile.mkdtemp(prefix="memwarden-shared-", dir="/tmp"))
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


FAKE = """
    import os, socket, sys
    path = sys.argv[1]
    os.makedirs(os.path.dirname(path), mode=0o777, exist_ok=True)
    os.chmod(os.path.dirname(path), 0o777)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(8)
    print("listening", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b'{"ok": true, "pid": 1, "uptime_s": 1, "programs": []}\\n')
"""


def test_another_users_directory_and_socket_are_refused(
    shared_tmp: Path, reaper: list[subprocess.Popen[bytes]],
) -> None:
    fake_path = shared_tmp / f"memwarden-{VICTIM}" / "control.sock"
    server = shared_tmp / "fake.py"
    server.write_text(textwrap.dedent(FAKE))
    fake = subprocess.Popen([*_python_for(ATTACKER), str(server), str(fake_path)], user=ATTACKER,
                            group=ATTACKER, extra_groups=[], stdout=subprocess.PIPE)
    reaper.append(fake)
    assert fake.stdout is not None and fake.stdout.readline() == b"listening\n"
    # The victim's default directory was created first by the attacker.
    for command in ("stop", "status"):
        result = _memwarden(command, user=VICTIM, TMPDIR=str(shared_tmp))
        assert result.returncode == 2, result
        assert f"owned by uid {ATTACKER}" in result.stderr
        assert "requested" not in result.stdout and "supervisor pid" not in result.stdout
    run = _memwarden("run", "--no-cgroup", "--", "true", user=VICTIM, TMPDIR=str(shared_tmp))
    assert run.returncode == 2 and f"owned by uid {ATTACKER}" in run.stderr
    # Pointed at the attacker's socket by path: the listener's uid gives it away.
    result = _memwarden("stop", "--control-socket", str(fake_path), user=VICTIM)
    assert result.returncode == 2
    assert f"the listener runs as uid {ATTACKER}" in result.stderr
    assert "requested" not in result.stdout


def test_log_files_are_0640_and_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = _memwarden("run", "--no-cgroup", "--log-dir", str(logs), "--control-socket",
                        str(tmp_path / "c.sock"), "--", "true")
    assert result.returncode == 0
    for name in ("memwarden.log", "true.log"):
        assert stat.S_IMODE((logs / name).stat().st_mode) == LOG_MODE
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (logs / "memwarden.log").unlink()
    (logs / "memwarden.log").symlink_to(victim)
    result = _memwarden("run", "--no-cgroup", "--log-dir", str(logs), "--control-socket",
                        str(tmp_path / "c.sock"), "--", "true")
    assert result.returncode == 2 and "memwarden.log" in result.stderr
    assert "Traceback" not in result.stderr
    assert victim.read_text() == "precious\n"


def test_trace_files_are_0600_and_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    with TraceWriter(trace, pid=os.getpid()):
        pass
    assert stat.S_IMODE(trace.stat().st_mode) == TRACE_MODE
    victim, planted = tmp_path / "victim", tmp_path / "planted.jsonl"
    victim.write_text("precious\n")
    planted.symlink_to(victim)
    with pytest.raises(OSError, match="symbolic links"):
        TraceWriter(planted, pid=os.getpid())
    assert victim.read_text() == "precious\n"
