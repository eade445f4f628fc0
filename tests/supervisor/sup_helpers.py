"""Fixtures for supervisor tests: run `memwarden run` for real, find every process it started.

Every supervisor gets a unique MEMWARDEN_TEST_TAG in its environment; all its descendants
inherit it, so `tagged_pids(tag)` finds whatever is left of a tree (also processes that
called setsid or were re-parented), and the fixture SIGKILLs them at teardown.

The fixtures (`supervise`, `script`) reach test modules through the areas' conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# one deadline, raised in slow guests; child_env and memwarden_cmd re-exported for tests
from tests.cgroup_helpers import DEADLINE_S
from tests.helpers import SRC, child_env, memwarden_cmd  # noqa: F401


def wait_for(condition: Callable[[], object], timeout_s: float = DEADLINE_S,
             what: str = "condition") -> object:
    pause = threading.Event()
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        pause.wait(0.02)


def tagged_pids(tag: str) -> set[int]:
    """Live (non-zombie) processes whose environment carries MEMWARDEN_TEST_TAG=tag."""
    needle = f"MEMWARDEN_TEST_TAG={tag}".encode()
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
        if needle in environ.split(b"\0") and state not in (b"Z", b"X"):
            found.add(int(name))
    return found


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    tag: str
    control: Path
    out_path: Path
    err_path: Path
    extra: list[int] = field(default_factory=list)

    @property
    def log(self) -> str:
        return self.err_path.read_text(errors="replace")

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_log(self, text: str, count: int = 1, timeout_s: float = DEADLINE_S,
                 stream: str = "err") -> str:
        """Wait until text is in the supervisor's stderr (stream="err") or stdout ("out")."""
        def read() -> str:
            return self.log if stream == "err" else self.out

        def seen() -> bool:
            if read().count(text) >= count:
                return True
            if self.proc.poll() is not None and read().count(text) < count:
                raise AssertionError(f"supervisor exited ({self.proc.returncode}) before "
                                     f"{count}x {text!r}:\n{self.log[-3000:]}")
            return False

        wait_for(seen, timeout_s, f"{count}x {text!r}")
        return read()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            memwarden_cmd(*args, "--control-socket", str(self.control)),
            env=child_env(), capture_output=True, text=True, timeout=60,
        )

    def exit_code(self, timeout_s: float = DEADLINE_S) -> int:
        return self.proc.wait(timeout=timeout_s)


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(*args: str, command: list[str] | None = None, prefix: list[str] | None = None,
              control: bool = True, **env: str) -> Running:
        tag = uuid.uuid4().hex
        control_path = tmp_path / f"control-{tag[:8]}.sock"
        out_path, err_path = tmp_path / f"out-{tag[:8]}.log", tmp_path / f"err-{tag[:8]}.log"
        argv = [*(prefix or []), *memwarden_cmd("run", *args)]
        if control:
            argv += ["--control-socket", str(control_path)]
        if command is not None:
            argv += ["--", *command]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, env=child_env(MEMWARDEN_TEST_TAG=tag, **env),
                                    stdout=out, stderr=err, process_group=0)
        running = Running(proc, tag, control_path, out_path, err_path)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.proc.poll() is None:
            with_suppressed(lambda r=running: os.killpg(r.proc.pid, signal.SIGKILL))
        running.proc.wait(timeout=30)
        for pid in tagged_pids(running.tag):
            with_suppressed(lambda p=pid: os.kill(p, signal.SIGKILL))
        for pid in running.extra:
            with_suppressed(lambda p=pid: os.kill(p, signal.SIGKILL))


def with_suppressed(action: Callable[[], object]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        action()


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], list[str]]:
    """Write a Python target to tmp_path; returns the command that runs it."""

    def write(name: str, body: str) -> list[str]:
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(body))
        return [sys.executable, str(path)]

    return write


def cgroup_control_reason() -> str | None:
    """Why `memwarden run` cannot own memory cgroups here (a skip reason), or None."""
    from memwarden.supervisor import cgroupctl

    if os.geteuid() != 0:
        return "needs root to create memory cgroups"
    try:
        cgroupctl.find_parent()
    except cgroupctl.CgroupUnavailable as err:
        return f"cgroup control unavailable: {err}"
    return None


# First run: grows 4 MiB every 20 ms until restarted (the supervisor's samples see every tier
# on the way up); later runs idle. argv[1] is a marker file saying "the first run happened".
GROWS_ONCE = """
    import os, sys, threading
    marker = sys.argv[1]
    if os.path.exists(marker):
        print("second run: idle", flush=True)
        threading.Event().wait(600)
    open(marker, "w").close()
    held = []
    pause = threading.Event()
    while True:
        held.append(b"x" * (4 * 2**20))
        pause.wait(0.02)
"""
