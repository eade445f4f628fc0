"""Routes the test apps share: a slow request the test releases, memory grown and freed."""

from __future__ import annotations

import os
import time
from pathlib import Path

WORKDIR = Path(os.environ.get("WEBTEST_DIR", "."))
HELD: list[bytearray] = []


def wait_for_release(name: str) -> None:
    """Mark `name` started, then wait (bounded) until the test creates its release file."""
    (WORKDIR / f"{name}.started").write_text(str(os.getpid()))
    release = WORKDIR / f"{name}.release"
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def grow(mib: int) -> int:
    block = bytearray(mib * 1024 * 1024)
    for offset in range(0, len(block), 4096):  # touch every page: RSS, not just address space
        block[offset] = 1
    HELD.append(block)
    return len(HELD)


def shrink() -> None:
    HELD.clear()
    import contextlib
    import ctypes

    with contextlib.suppress(OSError):  # give freed pages back now: the next tick sees it
        ctypes.CDLL("libc.so.6").malloc_trim(0)
