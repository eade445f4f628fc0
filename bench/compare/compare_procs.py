"""/proc helpers for the harness: process trees, RSS, CPU time, targeted cleanup, waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: its shared readers
from _schedstat import cpu_ns as cpu_ns  # re-exported: the harness reads CPU time here

POLL_S = 0.02
T = TypeVar("T")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def parents() -> dict[int, int]:
    """pid -> ppid for every process now."""
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(entry.name)] = int(fields[1])
    return out


def subtree(roots: Iterable[int], ppids: dict[int, int] | None = None) -> set[int]:
    ppids = parents() if ppids is None else ppids
    children: dict[int, list[int]] = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [pid for pid in roots if pid in ppids]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0  # a kernel thread or a zombie has no VmRSS line


def tagged_pids(token: str) -> list[int]:
    """Processes whose environment carries MWCOMPARE_TOKEN=token: everything one run started."""
    needle = f"MWCOMPARE_TOKEN={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_tagged(token: str) -> list[int]:
    """SIGKILL, by pid, whatever this run left behind; returns those pids."""
    left = tagged_pids(token)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def wait_for(check: Callable[[], T | None], timeout_s: float) -> T | None:
    """Poll check() until it returns something other than None, or give up after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result is not None or time.monotonic() >= deadline:
            return result
        time.sleep(POLL_S)
