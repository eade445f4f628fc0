"""The whole process tree of a pid (a bot and the headless Chromium it launched)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memwarden.readers.proc import PROC_ROOT, ProcessMemory


@dataclass(frozen=True, slots=True)
class TreeMemory:
    root_pid: int
    processes: tuple[ProcessMemory, ...]  # root first; processes that vanished mid-read are left out
    rss_bytes: int  # sum over the tree
    swap_bytes: int | None  # sum where readable; None when no process's swap was readable

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self.processes)


def list_descendants(pid: int, proc_root: Path = PROC_ROOT) -> list[int]:
    """All descendants (children, grandchildren ...) of pid, breadth first, pid excluded.

    Uses `/proc/PID/task/*/children` where the kernel has it (CONFIG_PROC_CHILDREN), else one
    scan of `/proc/*/stat` for parent pids.
    """
    raise NotImplementedError


def read_tree_memory(pid: int, proc_root: Path = PROC_ROOT) -> TreeMemory:
    """Raise NoSuchProcessError when the root pid itself is gone."""
    raise NotImplementedError
