"""Real memory cgroups (v1 or v2, whichever this kernel has) and allocating children for tests.

    from tests.cgroup_helpers import memory_cgroup, memory_cgroup_reason, spawn_allocator

    reason = memory_cgroup_reason()
    if reason: pytest.skip(reason)
    with memory_cgroup(300 * 2**20) as group:   # v1: /sys/fs/cgroup/memory/memwarden-test-…
                                                # v2: /sys/fs/cgroup/memwarden-test-…
        child = spawn_allocator(100 * 2**20, cgroup=group)  # joins the group, then allocates
        reaper.append(child)
        wait_ready(child)                                   # "ready PID" once the bytes are touched
        ...
        close_pipes(child)                                  # the child exits on stdin EOF
    # on exit every process left in the group is SIGKILLed and the group is removed
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

V1_MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
V2_ROOT = Path("/sys/fs/cgroup")
# Generous: the machine is shared; waits only cost time on failure. An emulated guest (the CI's
# cgroup v2 step) runs Python 15-20x slower and raises it with MEMWARDEN_TEST_DEADLINE_S.
DEADLINE_S = float(os.environ.get("MEMWARDEN_TEST_DEADLINE_S", "60"))


def v1_unavailable_reason(root: Path = V1_MEMORY_ROOT) -> str | None:
    """None when tests can create v1 memory groups here, else why not (for pytest.skip)."""
    if not sys.platform.startswith("linux"):
        return f"cgroup v1 needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "creating cgroup v1 memory groups needs root"
    if not (root / "memory.limit_in_bytes").exists():
        return f"no cgroup v1 memory hierarchy mounted at {root}"
    if not os.access(root, os.W_OK):
        return f"{root} is not writable"
    return None


def v2_unavailable_reason(root: Path = V2_ROOT) -> str | None:
    """None when tests can create v2 groups with a memory limit under root, else why not."""
    if not sys.platform.startswith("linux"):
        return f"cgroup v2 needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "creating cgroup v2 memory groups needs root"
    try:
        subtree = (root / "cgroup.subtree_control").read_text().split()
    except OSError:
        return f"no cgroup v2 hierarchy mounted at {root}"
    if "memory" not in subtree:
        return f"the cgroup v2 hierarchy at {root} does not enable the memory controller"
    if not os.access(root, os.W_OK):
        return f"{root} is not writable"
    return None


def memory_cgroup_version() -> int | None:
    """2 where v2 groups with memory limits can be made here, else 1 where v1 ones can, else
    None (then memory_cgroup_reason() says why)."""
    if v2_unavailable_reason() is None:
        return 2
    if v1_unavailable_reason() is None:
        return 1
    return None


def memory_cgroup_reason() -> str | None:
    """None when memory_cgroup() works here, else both versions' reasons (for pytest.skip)."""
    if memory_cgroup_version() is not None:
        return None
    return f"no memory cgroups: v2: {v2_unavailable_reason()}; v1: {v1_unavailable_reason()}"


def usage_file(group: Path) -> Path:
    """The group's usage: v2 memory.current, v1 memory.usage_in_bytes."""
    current = group / "memory.current"
    return current if current.exists() else group / "memory.usage_in_bytes"


def inactive_file_key(group: Path) -> str:
    """memory.stat's hierarchical inactive page cache: v2 inactive_file, v1 total_…."""
    return "inactive_file" if (group / "memory.current").exists() else "total_inactive_file"


def _wait_until(condition: object, timeout_s: float) -> bool:
    assert callable(condition)
    pause = threading.Event()
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.01)
    return True


def group_pids(group: Path) -> list[int]:
    try:
        return [int(line) for line in (group / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def _kill_all(group: Path) -> bool:
    """SIGKILL every task in the group; True when there was none left."""
    pids = group_pids(group)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return not pids


@contextmanager
def v1_memory_cgroup(
    limit_bytes: int | None, *, root: Path = V1_MEMORY_ROOT, oom_kill_disable: bool = False
) -> Iterator[Path]:
    """A fresh v1 memory group under root; SIGKILLs what is left in it and removes it on exit."""
    group = root / f"memwarden-test-{uuid.uuid4().hex[:12]}"
    group.mkdir()
    try:
        if limit_bytes is not None:
            (group / "memory.limit_in_bytes").write_text(str(limit_bytes))
        if oom_kill_disable:
            (group / "memory.oom_control").write_text("1")
        yield group
    finally:
        # Killed tasks leave the group once the kernel has torn them down (a zombie leaves at
        # exit, before its parent reaps it), so this does not depend on who reaps them.
        _wait_until(lambda: _kill_all(group), DEADLINE_S)
        _wait_until(lambda: _try_rmdir(group), DEADLINE_S)


@contextmanager
def v2_memory_cgroup(limit_bytes: int | None, *, root: Path = V2_ROOT) -> Iterator[Path]:
    """A fresh v2 group with memory.max under root; kills what is left in it (subgroups a test
    or the supervisor made included) and removes it on exit."""
    group = root / f"memwarden-test-{uuid.uuid4().hex[:12]}"
    group.mkdir()
    try:
        if limit_bytes is not None:
            (group / "memory.max").write_text(str(limit_bytes))
        yield group
    finally:
        remove_tree(group)


def remove_tree(group: Path) -> None:
    """Kill every task in group and its subgroups, remove them deepest first."""
    if not group.exists():
        return
    with suppress(OSError):
        (group / "cgroup.kill").write_text("1")
    for sub in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _wait_until(lambda s=sub: _kill_all(s), DEADLINE_S)
        _wait_until(lambda s=sub: _try_rmdir(s), DEADLINE_S)
    _wait_until(lambda: _kill_all(group), DEADLINE_S)
    _wait_until(lambda: _try_rmdir(group), DEADLINE_S)


@contextmanager
def memory_cgroup(limit_bytes: int | None) -> Iterator[Path]:
    """A memory-limited group in whichever hierarchy this kernel gives (v2 first, as most
    users run it); memory_cgroup_reason() says why not."""
    version = memory_cgroup_version()
    if version is None:
        raise RuntimeError(memory_cgroup_reason())
    manager = v2_memory_cgroup if version == 2 else v1_memory_cgroup
    with manager(limit_bytes) as group:
        yield group


def _try_rmdir(group: Path) -> bool:
    try:
        group.rmdir()
    except FileNotFoundError:
        return True
    except OSError:  # EBUSY for a moment after the last task left
        return False
    return True


_ALLOCATOR = """
import os, sys
group = sys.argv[1]
if group:
    with open(os.path.join(group, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
# bytes * n writes every page, so the whole amount is resident and charged to the group.
data = b"\\x01" * int(sys.argv[2])
print("ready", os.getpid(), flush=True)
sys.stdin.read()  # hold the memory until the test closes stdin or kills us
"""


def allocator_command(alloc_bytes: int, cgroup: Path | None = None) -> list[str]:
    """A python child that joins `cgroup` (v1/v2 cgroup.procs), allocates, prints `ready PID`."""
    return [sys.executable, "-c", _ALLOCATOR, str(cgroup or ""), str(alloc_bytes)]


def spawn_allocator(alloc_bytes: int, *, cgroup: Path | None = None) -> subprocess.Popen[bytes]:
    """Own session, so the `reaper` fixture's killpg takes it and anything it started."""
    return subprocess.Popen(
        allocator_command(alloc_bytes, cgroup),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )


def close_pipes(child: subprocess.Popen[bytes]) -> None:
    """Close our ends (the allocator exits on stdin EOF); the `reaper` fixture does not close them,
    and an unclosed pipe is a ResourceWarning, an error under filterwarnings=error."""
    for pipe in (child.stdin, child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


def wait_ready(child: subprocess.Popen[bytes], timeout_s: float = DEADLINE_S) -> int:
    """Block until the child (or a descendant sharing its stdout) prints `ready PID`; the pid."""
    assert child.stdout is not None
    readable, _, _ = select.select([child.stdout], [], [], timeout_s)
    if not readable:
        raise TimeoutError(f"pid {child.pid} not ready after {timeout_s} s")
    line = child.stdout.readline().decode().split()
    if len(line) != 2 or line[0] != "ready":
        raise RuntimeError(f"pid {child.pid} exited or printed {line!r} instead of 'ready PID'")
    return int(line[1])
