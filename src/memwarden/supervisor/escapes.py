"""Processes that left a program's process group: found, owned, and told to the sentinel.

A grandchild that calls setsid(), or a daemon that double-forks, is no longer in the process
group the supervisor signals. While its parent lives it is still a descendant of the
program (the sampler's tree walk sees it); once its parent exits, the kernel re-parents it
to the supervisor (a child subreaper, or PID 1), and it is one of our own children that no
program started. After each sample and while a program stops, this module:

- adopts our own children that are neither a program's main process nor the sentinel, with
  their descendants, into the program whose tree held them (the only program, when there is
  one; else they belong to the supervisor and die with it);
- tells the sentinel the pid and process group of every process outside its program's group,
  so `kill -9` of the supervisor still kills them, and forgets them once they are gone.

A pid or group number is only sent while the process is seen in a tree and withdrawn at the
first scan that finds it gone, so a reused number is killed only if the supervisor dies
within one sampling interval of the reuse.
"""

from __future__ import annotations

import os

from memwarden.readers.kept import ChildrenReader
from memwarden.readers.tree import list_descendants
from memwarden.supervisor.process import group_exists, pid_exists

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.program import ProgramRun

UNOWNED = ""  # adopted orphans no program can be named for


class EscapeWatch:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.pids: dict[int, str] = {}  # pid outside its program's group -> program name
        self.groups: dict[int, str] = {}  # their process groups -> program name
        self.unowned: set[int] = set()
        self._own_children: ChildrenReader | None = None  # kept fds: read after every sample

    # -- finding -----------------------------------------------------------------------------
    def adopted(self) -> dict[str, set[int]]:
        """Our children that no program started, with their descendants, per program name."""
        if self._own_children is None:
            self._own_children = ChildrenReader(os.getpid())
        sentinel = self.sup.sentinel.pid if self.sup.sentinel is not None else None
        mains = {r.pid for r in self.sup.runs.values() if r.pid is not None and r.alive}
        strays = [p for p in self._own_children.read() if p not in mains and p != sentinel]
        found: dict[str, set[int]] = {}
        for pid in strays:
            name = self._owner(pid)
            tree = {pid, *list_descendants(pid)}
            found.setdefault(name, set()).update(tree)
        return found

    def _owner(self, pid: int) -> str:
        for run in self.sup.runs.values():
            if pid in run.known_pids:
                return run.name
        if len(self.sup.runs) == 1:
            return next(iter(self.sup.runs))
        return self.pids.get(pid, UNOWNED)

    def members(self, run: ProgramRun) -> set[int]:
        """The adopted part of run's tree (what a walk from its main process cannot see)."""
        tree = self.adopted().get(run.name, set())
        run.known_pids |= tree
        return tree

    # -- telling the sentinel ----------------------------------------------------------------
    def scan(self, fresh: dict[str, set[int]] | None = None) -> None:
        """One pass: adopt orphans, tell the sentinel new outsiders, forget the gone ones.

        fresh: per program, the pids its latest sample found in its tree (descendants of its
        main process), so a setsid grandchild is known while its parent still lives."""
        seen: dict[int, str] = {}
        for name, pids in (fresh or {}).items():
            seen.update(dict.fromkeys(pids, name))
        for name, pids in self.adopted().items():
            seen.update(dict.fromkeys(pids, name))
            run = self.sup.runs.get(name)
            if run is not None:
                run.known_pids |= pids
            else:
                self.unowned |= pids
        for pid, name in seen.items():
            run = self.sup.runs.get(name)
            main = run.pid if run is not None else None
            if pid == main:
                continue
            pgid = _pgid(pid)
            if pgid is None or pgid == main:
                continue
            if pgid not in self.groups and pgid not in self._never_groups():
                self.groups[pgid] = name
                if self.sup.sentinel is not None:
                    self.sup.sentinel.add(pgid)
            if pid not in self.pids:
                self.pids[pid] = name
                if self.sup.sentinel is not None:
                    self.sup.sentinel.add_pid(pid)
                self.sup.sink.event("info", f"pid {pid} runs outside process group {main} "
                                    f"(in group {pgid}): tracked, it stops with the program",
                                    program=name or None)
        self.forget_gone()

    def _never_groups(self) -> set[int]:
        """Groups the sentinel must never kill: the supervisor's own and the sentinel's."""
        sentinel = self.sup.sentinel.pid if self.sup.sentinel is not None else None
        return {os.getpgid(0), *([sentinel] if sentinel is not None else [])}

    def forget_gone(self) -> None:
        sentinel = self.sup.sentinel
        for pid in [p for p in self.pids if not pid_exists(p)]:
            del self.pids[pid]
            if sentinel is not None:
                sentinel.remove_pid(pid)
        for pgid in [g for g in self.groups if not group_exists(g)]:
            del self.groups[pgid]
            if sentinel is not None:
                sentinel.remove(pgid)
        self.unowned = {p for p in self.unowned if pid_exists(p)}


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
