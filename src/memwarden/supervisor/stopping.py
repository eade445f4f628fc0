"""Signalling a program's whole tree: SIGTERM first, SIGKILL for what is left after grace."""

from __future__ import annotations

import contextlib
import os
import signal

from memwarden.readers.tree import list_descendants
from memwarden.supervisor.process import collect_tree, kill_all, living, signal_group
from memwarden.supervisor.program import ProgramRun


def terminate_tree(run: ProgramRun) -> tuple[int, int] | None:
    """SIGTERM the program's process group and any of its tree outside it (setsid).

    Returns (processes in the tree, how many were outside the group), or None when nothing
    of the tree is left. The cheap part of the tree (descendants, from the kernel's children
    files) is read before signalling, so the group gets SIGTERM within microseconds; the
    full collection (a /proc scan for the group and re-parented orphans) follows.
    """
    pid = run.pid
    if pid is None:
        return None
    run.known_pids.update(list_descendants(pid))
    signal_group(pid, signal.SIGTERM)
    tree = living(collect_tree(pid, pid, run.known_pids))
    run.known_pids |= tree
    if not tree:
        return None
    outside = {p for p in tree if _pgid(p) not in (pid, None)}
    for other in outside:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(other, signal.SIGTERM)
    return len(tree), len(outside)


def tree_left(run: ProgramRun) -> set[int]:
    """What still runs of the program's tree (zombies excluded)."""
    pid = run.pid
    if pid is None:
        return set()
    return living(collect_tree(pid, pid, run.known_pids))


def kill_tree(run: ProgramRun, left: set[int]) -> int:
    """SIGKILL the group and every pid left; how many were still there."""
    if run.pid is not None:
        signal_group(run.pid, signal.SIGKILL)
    return kill_all(left)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
