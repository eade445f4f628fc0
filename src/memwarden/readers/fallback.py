"""psutil, and only here: process and machine figures where /proc is missing (not Linux),
and the few listings /proc gives no cheap way to (the machine's largest processes).

psutil is imported inside each function: `import memwarden` stays light on every platform.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from memwarden.errors import NoSuchProcessError, ProcessAccessError
from memwarden.readers.proc import ProcessMemory
from memwarden.readers.system import SystemMemory
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


def self_rss_bytes_psutil() -> int | None:
    """RSS of this process; None when psutil is missing or cannot tell."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # psutil raises platform-specific errors; RSS is then unknown
        return None


def read_system_memory_psutil() -> SystemMemory | None:
    try:
        import psutil

        vm = psutil.virtual_memory()
        swap = psutil.swap_memory()
    except Exception:  # psutil raises platform-specific errors; the source is simply unavailable
        return None
    return SystemMemory(int(vm.total), int(vm.available), int(swap.total), int(swap.free))


def largest_processes_psutil(count: int) -> list[tuple[int, str, int]]:
    """(pid, name, rss_bytes) of the machine's `count` largest processes by RSS."""
    import psutil

    found: list[tuple[int, str, int]] = []
    for process in psutil.process_iter(["pid", "name", "memory_info"]):
        info = process.info
        memory = info.get("memory_info")
        if memory is not None:
            found.append((int(info["pid"]), info.get("name") or "?", int(memory.rss)))
    found.sort(key=lambda p: p[2], reverse=True)
    return found[:count]
