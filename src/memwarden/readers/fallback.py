"""Non-Linux: process figures from psutil; every Linux-only source reports itself unavailable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from memwarden.errors import NoSuchProcessError, ProcessAccessError
from memwarden.readers.proc import ProcessMemory
from memwarden.readers.tree import TreeMemory

_T = TypeVar("_T")


def _translated(pid: int, read: Callable[[], _T]) -> _T:
    import psutil  # imported late: `import memwarden` stays light on every platform

    try:
        return read()
    except psutil.NoSuchProcess as err:  # includes ZombieProcess on platforms that raise it
        raise NoSuchProcessError(pid) from err
    except psutil.AccessDenied as err:
        raise ProcessAccessError(pid, f"psutil.Process({pid})") from err


def _memory_of(process: object) -> ProcessMemory:
    import psutil

    assert isinstance(process, psutil.Process)
    info = process.memory_info()
    try:
        threads: int | None = process.num_threads()
    except psutil.AccessDenied:
        threads = None
    return ProcessMemory(
        pid=process.pid,
        rss_bytes=int(info.rss),
        vms_bytes=int(info.vms),
        shared_bytes=int(getattr(info, "shared", 0)) if hasattr(info, "shared") else None,
        # Swap per process needs memory_full_info(), which walks smaps: not on a cheap path.
        swap_bytes=None,
        threads=threads,
    )


def read_process_memory_psutil(pid: int) -> ProcessMemory:
    """Raise NoSuchProcessError / ProcessAccessError like the /proc reader does."""
    import psutil

    return _translated(pid, lambda: _memory_of(psutil.Process(pid)))


def read_tree_memory_psutil(pid: int) -> TreeMemory:
    """Root must exist; descendants that vanish or deny access are left out."""
    import psutil

    root = _translated(pid, lambda: psutil.Process(pid))
    processes = [_translated(pid, lambda: _memory_of(root))]
    children = _translated(pid, lambda: root.children(recursive=True))
    for child in children:
        try:
            processes.append(_memory_of(child))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return TreeMemory(
        root_pid=pid,
        processes=tuple(processes),
        rss_bytes=sum(p.rss_bytes for p in processes),
        swap_bytes=None,
    )
