"""Marker protocol shared by the child programs (stdlib only: the peers run these too).

Each child appends one JSON object per line to the markers file named on its command line:
``{"event": ..., "pid": ..., "t": <CLOCK_MONOTONIC seconds>, ...}``. CLOCK_MONOTONIC is
system-wide on Linux, so the harness can subtract times written by different processes.
Events: ``start``, ``ready``, ``crossed`` (RSS reached the restart threshold), ``signal``
(a stop signal arrived: ``signum``), ``hook`` (the shutdown hook ran, just before exit).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def record(markers_path: str, event: str, **figures: Any) -> None:
    line = json.dumps({"event": event, "pid": os.getpid(), "t": time.monotonic(), **figures})
    # One O_APPEND write per line: lines from concurrent processes never interleave.
    fd = os.open(markers_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


def install_stop_handler(markers_path: str,
                         before: Callable[[], None] | None = None) -> None:
    """On SIGTERM or SIGINT (PM2's default): run before (if given), note the signal, run the
    "hook", exit 0."""

    def handle_stop(signum: int, _frame: object) -> None:
        if before is not None:
            before()
        record(markers_path, "signal", signum=signum, rss_bytes=rss_bytes())
        record(markers_path, "hook")  # the app's shutdown hook: save state, flush, close
        os._exit(0)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handle_stop)


def touch(size_bytes: int) -> bytes:
    """size_bytes of memory that is really resident (bytes(n) would be lazily zero-mapped)."""
    return b"\x01" * size_bytes


def read_markers(markers_path: str) -> list[dict[str, Any]]:
    try:
        with open(markers_path, encoding="utf-8") as markers:
            lines = markers.read().splitlines()
    except FileNotFoundError:
        return []
    # A line being written when we read may be cut short: skip it, the next read has it whole.
    out: list[dict[str, Any]] = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
