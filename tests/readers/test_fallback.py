"""psutil fallback (non-Linux path), run here against the same real processes as /proc."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from memwarden.errors import NoSuchProcessError, ProcessAccessError
from memwarden.readers.fallback import read_process_memory_psutil, read_tree_memory_psutil
from memwarden.readers.proc import read_process_memory


def test_psutil_agrees_with_proc_for_self() -> None:
    via_psutil = read_process_memory_psutil(os.getpid())
    via_proc = read_process_memory(os.getpid())
    assert abs(via_psutil.rss_bytes - via_proc.rss_bytes) < 2**20
    assert via_psutil.threads == via_proc.threads
    assert via_psutil.swap_bytes is None  # not on the cheap path: unknown, not 0


def test_psutil_tree_and_missing_pid(reaper: list[subprocess.Popen[bytes]]) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, start_new_session=True)
    reaper.append(child)
    try:
        tree = read_tree_memory_psutil(os.getpid())
        assert child.pid in tree.pids and tree.pids[0] == os.getpid()
        assert tree.rss_bytes == sum(p.rss_bytes for p in tree.processes)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
    with pytest.raises(NoSuchProcessError, match=str(child.pid)):
        read_process_memory_psutil(child.pid)
    with pytest.raises(NoSuchProcessError):
        read_tree_memory_psutil(child.pid)


def test_psutil_access_denied_is_translated() -> None:
    import psutil

    from memwarden.readers import fallback

    def denied() -> None:
        raise psutil.AccessDenied(1)

    with pytest.raises(ProcessAccessError, match="pid 1"):
        fallback._translated(1, denied)
