"""The whole process tree of a pid (a bot and the headless Chromium it launched)."""

from __future__ import annotations

import functools
import os
from collections import deque
from pathlib import Path

from memwarden.errors import NoSuchProcessError, ProcessAccessError
from memwarden.readers.proc import (
    PROC_ROOT,
    ProcessMemory,
    read_file_bytes,
    read_process_memory,
)
from memwarden.readers.procinfo import parse_stat
from memwarden.record import record


@record
class TreeMemory:
    root_pid: int
    processes: tuple[ProcessMemory, ...]  # root first; any that vanished mid-read left out
    rss_bytes: int  # sum over the tree
    swap_bytes: int | None  # sum where readable; None when no process's swap was readable

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self.processes)


@functools.cache
def _kernel_has_children_files() -> bool:
    own = os.getpid()
    return (PROC_ROOT / str(own) / "task" / str(own) / "children").exists()


def has_children_files(proc_root: Path = PROC_ROOT) -> bool:
    """Whether the kernel has CONFIG_PROC_CHILDREN (detected on our own task, never assumed)."""
    if proc_root == PROC_ROOT:
        return _kernel_has_children_files()
    # A fixture tree: look at any process in it.
    for entry in _numeric_entries(proc_root):
        return (proc_root / entry / "task" / entry / "children").exists()
    return False


def list_descendants(
    pid: int, proc_root: Path = PROC_ROOT, *, use_children_files: bool | None = None
) -> list[int]:
    """All descendants (children, grandchildren ...) of pid, breadth first, pid excluded.

    Uses `/proc/PID/task/*/children` where the kernel has it (CONFIG_PROC_CHILDREN), else one
    scan of `/proc/*/stat` for parent pids. `use_children_files` forces one way (tests, bench).
    """
    if use_children_files is None:
        use_children_files = has_children_files(proc_root)
    ppid_map = None if use_children_files else _scan_parent_map(proc_root)

    def children_of(parent: int) -> list[int]:
        if ppid_map is None:
            return _children_from_task_files(parent, proc_root)
        return sorted(ppid_map.get(parent, []))  # pid order, as the children files give

    found: list[int] = []
    seen = {pid}
    queue = deque([pid])
    while queue:
        for child in children_of(queue.popleft()):
            if child not in seen:  # a pid reused mid-walk must not loop us
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def list_children(pid: int, proc_root: Path = PROC_ROOT) -> list[int]:
    """The direct children of pid (for a subreaper: the orphans re-parented to it too)."""
    if has_children_files(proc_root):
        return _children_from_task_files(pid, proc_root)
    return sorted(_scan_parent_map(proc_root).get(pid, []))


def _children_from_task_files(pid: int, proc_root: Path) -> list[int]:
    # Children hang off the thread that forked them, so every task of the process is read.
    children: list[int] = []
    task_dir = f"{proc_root}/{pid}/task"
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return children  # exited (or never was): no children to report
    for tid in tids:
        try:
            raw = read_file_bytes(f"{task_dir}/{tid}/children")
        except OSError:
            continue  # the thread exited between listdir and open
        children.extend(int(field) for field in raw.split())
    return children


def _numeric_entries(proc_root: Path) -> list[str]:
    try:
        return [name for name in os.listdir(proc_root) if name.isdigit()]
    except OSError:
        return []


def _scan_parent_map(proc_root: Path) -> dict[int, list[int]]:
    parents: dict[int, list[int]] = {}
    for name in _numeric_entries(proc_root):
        try:
            raw = read_file_bytes(f"{proc_root}/{name}/stat")
        except OSError:
            continue  # exited while scanning
        stat = parse_stat(raw)
        if stat is not None:
            parents.setdefault(stat.ppid, []).append(int(name))
    return parents


def read_tree_memory(
    pid: int, proc_root: Path = PROC_ROOT, *, with_status: bool = True
) -> TreeMemory:
    """Raise NoSuchProcessError when the root pid itself is gone.

    Descendants that vanish mid-read, or that this user cannot read, are left out. One-off:
    opens every file afresh; a sampler that reads the same tree again keeps a TreeReader.
    """
    root = read_process_memory(pid, proc_root, with_status=with_status)
    processes = [root]
    for child in list_descendants(pid, proc_root):
        try:
            processes.append(read_process_memory(child, proc_root, with_status=with_status))
        except (NoSuchProcessError, ProcessAccessError):
            continue
    return tree_of(pid, processes)


def tree_of(pid: int, processes: list[ProcessMemory]) -> TreeMemory:
    swaps = [p.swap_bytes for p in processes if p.swap_bytes is not None]
    return TreeMemory(
        root_pid=pid,
        processes=tuple(processes),
        rss_bytes=sum(p.rss_bytes for p in processes),
        swap_bytes=sum(swaps) if swaps else None,
    )
