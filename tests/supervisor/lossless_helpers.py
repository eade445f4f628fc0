"""Helpers for the lossless tests: an allocating child, line I/O, waits with deadlines."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.supervisor import cgroupctl

MIB = 1024 * 1024
from tests.cgroup_helpers import DEADLINE_S  # noqa: E402 - one deadline, raised in slow guests

# A child that holds `prealloc` MiB, says "ready", then on each stdin line either allocates
# "alloc N" MiB and answers "ok", or on "spike" allocates as fast as it can forever.
# Its SIGTERM handler writes the hook file and exits 0, like a shutdown hook would.
ALLOCATOR = r"""
import os, signal, sys
hook_file = sys.argv[1]
def on_term(signum, frame):
    with open(hook_file, "w") as f:
        f.write("hook ran")
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
hold = [b"x" * (1 << 20) for _ in range(int(sys.argv[2]))]
print("ready", flush=True)
for line in sys.stdin:
    if line.startswith("alloc"):
        hold.extend(b"x" * (1 << 20) for _ in range(int(line.split()[1])))
        print("ok", flush=True)
    elif line.startswith("spike"):
        while True:
            hold.append(b"x" * (1 << 20))
"""




def spawn_allocator(
    reaper: list[subprocess.Popen[bytes]],
    group: cgroupctl.OwnedCgroup,
    hook_file: Path,
    prealloc_mib: int,
) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", ALLOCATOR, str(hook_file), str(prealloc_mib)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=group.preexec,
        process_group=0,
    )
    reaper.append(child)
    assert read_line(child) == "ready"
    return child


def read_line(child: subprocess.Popen[bytes]) -> str:
    assert child.stdout is not None
    return child.stdout.readline().decode().strip()


def send(child: subprocess.Popen[bytes], line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(line.encode() + b"\n")
    child.stdin.flush()


def wait_readable(fileobj: object, deadline_s: float = DEADLINE_S) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(fileobj, selectors.EVENT_READ)  # type: ignore[arg-type]
        return bool(selector.select(deadline_s))


def wait_until(predicate: object, deadline_s: float = DEADLINE_S, step_s: float = 0.02) -> bool:
    """Poll a condition with a generous deadline (a wait, never a timed assertion)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(step_s)
    return bool(predicate())  # type: ignore[operator]


@pytest.fixture(name="owned_group")
def owned_group_fixture() -> Iterator[cgroupctl.OwnedCgroup]:
    """A 160 MiB owned cgroup; skipped with the reason when memwarden may not own one."""
    try:
        group = cgroupctl.OwnedCgroup.create(f"test{os.getpid()}", 160 * MIB)
    except cgroupctl.CgroupUnavailable as err:
        pytest.skip(f"cannot own a memory cgroup here: {err}")
    yield group
    group.destroy()
