"""One process: RSS/VMS/swap from `/proc/PID/statm` and `status`; PSS/USS on demand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC_ROOT = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessMemory:
    pid: int
    rss_bytes: int
    vms_bytes: int
    shared_bytes: int | None  # file-backed + shmem resident (statm field 3)
    swap_bytes: int | None  # VmSwap from status; None when not readable
    threads: int | None  # Threads from status (arena advice needs it)


@dataclass(frozen=True, slots=True)
class ProcessDetail:
    """From `smaps_rollup`: costs ms at large RSS, so only on demand, never on a hot path."""

    pid: int
    pss_bytes: int
    uss_bytes: int  # Private_Clean + Private_Dirty
    swap_pss_bytes: int | None
    anonymous_bytes: int | None


def read_process_memory(pid: int, proc_root: Path = PROC_ROOT) -> ProcessMemory:
    """Raise NoSuchProcessError for a missing pid, ProcessAccessError when unreadable."""
    raise NotImplementedError


def read_process_detail(pid: int, proc_root: Path = PROC_ROOT) -> ProcessDetail | None:
    """None when smaps_rollup is absent or unreadable (old kernel, another user's process)."""
    raise NotImplementedError
