"""cgroup v1 freezer: stop every task of a program at once before SIGKILLing them.

On cgroup v1 there is no `cgroup.kill`: a SIGKILL round reads `cgroup.procs` and signals
each pid, and a task that forks between the read and the signal leaves a child behind (a
process that "walks" by forking and exiting evades every round). Where the v1 freezer
hierarchy is mounted and writable, each owned program also gets a freezer group of the same
name; `kill` freezes it (every task stops, forks in flight included), SIGKILLs the frozen
tasks, and thaws it so they die. A freeze that does not complete within FREEZE_WAIT_S (a task
in an uninterruptible sleep) falls back to the kill rounds, repeated by the caller.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from memwarden.readers.cgroup import find_v1_cgroup

FREEZE_WAIT_S = 0.1


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def freezer_parent() -> Path | None:
    """Our own v1 freezer group, if groups may be created under it."""
    parent = find_v1_cgroup("freezer")
    if parent is None or not (parent / "cgroup.procs").exists():
        return None
    return parent if os.access(parent, os.W_OK) else None


class Freezer:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, name: str) -> Freezer | None:
        """A freezer group `name` under ours, or None where there is no usable freezer."""
        parent = freezer_parent()
        if parent is None:
            return None
        path = parent / name
        try:
            path.mkdir(exist_ok=True)
        except OSError:
            return None
        return cls(path)

    def preexec(self) -> None:
        _write(self.path / "cgroup.procs", "0")

    def freeze(self) -> bool:
        """Freeze every task; True once the kernel reports FROZEN."""
        try:
            _write(self.path / "freezer.state", "FROZEN")
        except OSError:
            return False
        deadline_s = time.monotonic() + FREEZE_WAIT_S
        while time.monotonic() < deadline_s:
            try:
                if (self.path / "freezer.state").read_text().strip() == "FROZEN":
                    return True
            except OSError:
                return False
            time.sleep(0.001)  # freezing takes microseconds; bounded by FREEZE_WAIT_S
        return False

    def thaw(self) -> None:
        with contextlib.suppress(OSError):
            _write(self.path / "freezer.state", "THAWED")
