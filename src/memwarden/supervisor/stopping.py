"""Signalling a program's whole tree: SIGTERM first, SIGKILL for what is left after grace."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Set as AbstractSet

from memwarden.readers.tree import list_descendants
from memwarden.supervisor.policy.restart import bounded_delay_s
from memwarden.supervisor.process import collect_tree, kill_all, living, signal_group
from memwarden.supervisor.program import ProgramRun


def terminate_tree(run: ProgramRun, extra: AbstractSet[int] = frozenset()
                   ) -> tuple[int, int] | None:
    """SIGTERM the program's process group and any of its tree outside it (setsid), extra
    included (orphans re-parented to the supervisor, the rest of its owned cgroup).

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
    tree = living(collect_tree(pid, pid, run.known_pids) | extra)
    run.known_pids |= tree
    if not tree:
        return None
    outside = {p for p in tree if _pgid(p) not in (pid, None)}
    for other in outside:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(other, signal.SIGTERM)
    return len(tree), len(outside)


def tree_left(run: ProgramRun, extra: AbstractSet[int] = frozenset()) -> set[int]:
    """What still runs of the program's tree, extra included (zombies excluded)."""
    pid = run.pid
    if pid is None:
        return living(set(extra))
    return living(collect_tree(pid, pid, run.known_pids) | extra)


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


def emergency_stop(runs: list[ProgramRun], extras: dict[str, set[int]]) -> None:
    """Stop runs without the loop (it is broken): SIGTERM each tree, wait up to the longest
    grace while reaping, SIGKILL what is left. extras: per program, pids beyond its tree."""
    deadline_s = time.monotonic() + max((bounded_delay_s(r.config.grace_s) for r in runs),
                                        default=0.0)
    for run in runs:
        if run.state == "running":
            terminate_tree(run, extras.get(run.name, set()))
    while time.monotonic() < deadline_s:
        _reap_any()
        if not any(tree_left(r, extras.get(r.name, set())) for r in runs):
            return
        time.sleep(0.02)  # no loop left to wait on: a short poll until the deadline
    for run in runs:
        kill_tree(run, tree_left(run, extras.get(run.name, set())))
    _reap_any()


def _reap_any() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
