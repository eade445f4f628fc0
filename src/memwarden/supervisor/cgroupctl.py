"""Own a program's memory cgroup: a hard wall the kernel pauses at instead of SIGKILLing.

How the supervisor loop uses it:

1. At start: `cleanup_stale()` (groups a SIGKILLed supervisor left), then per program
   `OwnedCgroup.create(name, hard_limit_bytes)`; on `CgroupUnavailable` log
   "falling back to polling: <reason>" and carry on without it.
2. At spawn: add `cgroup.preexec` to the spawn hooks, so the child joins the group before exec
   (nothing it allocates is charged elsewhere). `add_pid(pid)` moves an already running one.
3. On a threshold or OOM event (see notify.py) or a poll that finds `is_paused()`:
   `graceful_stop(cgroup, pgid)`: SIGTERM first, then `grant_headroom()`. The order matters:
   a task paused at the wall only handles a pending signal once the limit moves, and headroom
   granted before the signal is eaten by the allocation that hit the wall.
4. When the generation has exited: `reset_limits()` before the next spawn; at exit `destroy()`.

cgroup v1: memory.limit_in_bytes = hard, memory.oom_control oom_kill_disable=1
-> an over-limit task sleeps until the limit rises or it is killed. cgroup v2 has no
oom_kill_disable: memory.high a little below memory.max throttles the task (reclaim, then
sleep) before the OOM killer would act at memory.max; `is_paused()` is then "usage >= high
with little of it reclaimable". In a v2 group that holds processes (a systemd service, a
delegated subtree) `enable_memory_for_children()` first moves them into a `supervisor` leaf.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from memwarden.errors import MemwardenError
from memwarden.readers.cgroup import CgroupLocation, find_memory_cgroup
from memwarden.readers.procinfo import INITIAL_PID_NAMESPACE, pid_namespace_id
from memwarden.supervisor.freezer import Freezer, freezer_parent
from memwarden.supervisor.process import pid_exists

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

DEFAULT_PREFIX = "memwarden-"
SUPERVISOR_LEAF = "supervisor"  # v2: where the supervisor lives when its group has children
HEADROOM_BYTES = 32 * 1024 * 1024  # enough for a Python SIGTERM handler to save and exit
V2_HIGH_MARGIN_BYTES = 16 * 1024 * 1024  # memory.high this far below memory.max
V2_PAUSE_SLACK_BYTES = 4 * 1024 * 1024  # unreclaimable this close to memory.high: throttled
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class CgroupUnavailable(MemwardenError):
    """memwarden may not own a memory cgroup here; str() is the reason to log."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _write(path: Path, text: str) -> None:
    # One write(2) per value: cgroup files take a value per write call, not a stream.
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _read_text(path: Path) -> str:
    return path.read_text()


def _flat_keyed(text: str) -> dict[str, int]:
    pairs = (line.split() for line in text.splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}


def find_parent(location: CgroupLocation | None = None) -> tuple[Literal[1, 2], Path]:
    """memwarden's own memory cgroup (or `location`), if programs' groups may go under it.

    Raises CgroupUnavailable naming what is missing: no memory cgroup, not writable, or a v2
    group that does not delegate the memory controller to its children.
    """
    location = location or find_memory_cgroup()
    if location is None:
        raise CgroupUnavailable("no memory cgroup is mounted for this process")
    parent = location.path
    if location.version == 2 and parent.name == SUPERVISOR_LEAF:
        parent = parent.parent  # we moved ourselves into the leaf: groups go beside it
    if not os.access(parent, os.W_OK):
        raise CgroupUnavailable(f"cgroup {parent} is not writable (not root, not delegated)")
    if location.version == 2:
        try:
            subtree = _read_text(parent / "cgroup.subtree_control").split()
        except OSError as err:
            raise CgroupUnavailable(f"cannot read {parent}/cgroup.subtree_control: {err}") from err
        if "memory" not in subtree:
            # The no-internal-process rule forbids enabling it while processes live in this
            # group: enable_memory_for_children() first moves them into a leaf.
            raise CgroupUnavailable(
                f"cgroup v2 group {parent} does not delegate the memory controller "
                "(cgroup.subtree_control lacks 'memory')"
            )
    elif not (parent / "memory.limit_in_bytes").exists():
        raise CgroupUnavailable(f"{parent} has no memory.limit_in_bytes (memory controller?)")
    return location.version, parent


def supervisor_group() -> CgroupLocation | None:
    """memwarden's own memory cgroup as a container: the group, not the leaf we moved into."""
    location = find_memory_cgroup()
    if location is not None and location.version == 2 and location.path.name == SUPERVISOR_LEAF:
        return CgroupLocation(2, location.path.parent)
    return location


def enable_memory_for_children(location: CgroupLocation | None = None) -> Path | None:
    """cgroup v2: make our own group a parent of memory-limited groups. Returns the leaf we
    moved into, or None when nothing had to change (v1, or memory already enabled).

    A group with processes in it cannot enable controllers for its children (the
    no-internal-processes rule). In a group we may write (root, systemd Delegate=yes, a subtree
    chowned to us) every process of the group moves into `<group>/supervisor`, then `+memory`
    goes into the group's cgroup.subtree_control. Raises CgroupUnavailable with the reason.
    """
    location = location or find_memory_cgroup()
    if location is None or location.version != 2 or location.path.name == SUPERVISOR_LEAF:
        return None
    group = location.path
    try:
        if "memory" in _read_text(group / "cgroup.subtree_control").split():
            return None
        if "memory" not in _read_text(group / "cgroup.controllers").split():
            raise CgroupUnavailable(
                f"cgroup v2 group {group} has no memory controller (its parent does not "
                "enable it: systemd Delegate=yes, or +memory in the parent's subtree_control)")
    except OSError as err:
        raise CgroupUnavailable(f"cannot read {group}: {err}") from err
    leaf = group / SUPERVISOR_LEAF
    try:
        leaf.mkdir(exist_ok=True)
        # Moved one by one: a process that exits meanwhile is simply gone (ESRCH).
        for pid in _pids(group):
            with contextlib.suppress(ProcessLookupError):
                _write(leaf / "cgroup.procs", str(pid))
        _write(group / "cgroup.subtree_control", "+memory")
    except OSError as err:
        raise CgroupUnavailable(
            f"cannot enable the memory controller below {group}: {err} (moving its processes "
            f"into {leaf.name}/ needs write access to the group, as Delegate=yes gives)"
        ) from err
    return leaf


def _pids(directory: Path) -> list[int]:
    try:
        return [int(p) for p in _read_text(directory / "cgroup.procs").split()]
    except (OSError, ValueError):
        return []


def _empty_and_remove(directory: Path, version: int, timeout_s: float) -> None:
    """SIGKILL every task in directory, wait until it is empty, rmdir it (idempotent)."""
    if not directory.exists():
        return
    if version == 1:
        # A task paused at the wall dies of SIGKILL, but lift the wall so nothing stays stuck;
        # a frozen task only dies once thawed.
        for name, value in (("memory.oom_control", "0"), ("freezer.state", "THAWED")):
            if (directory / name).exists():
                with contextlib.suppress(OSError):
                    _write(directory / name, value)
    deadline = time.monotonic() + timeout_s
    while True:
        if version == 2 and (directory / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(directory / "cgroup.kill", "1")
        for pid in _pids(directory):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as err:  # EBUSY until the last task has gone
            if time.monotonic() > deadline:
                raise CgroupUnavailable(f"cannot remove {directory}: {err}") from err
        time.sleep(0.005)  # a short back-off between kill rounds, not synchronisation


    return True


def owner_tag() -> str:
    """Our pid, plus our PID namespace where it is not the host's: `1234` or `7-ns4026532830`.

    A pid means something only in its own namespace. Without the tag a supervisor in a
    container (or under `unshare --pid`) would find the host's supervisors' pids missing and
    remove their live groups as stale, and the host's would do the same to its groups.
    """
    namespace = pid_namespace_id()
    if namespace is None or namespace == INITIAL_PID_NAMESPACE:
        return str(os.getpid())
    return f"{os.getpid()}-ns{namespace}"


def _stale(owner: str) -> bool:
    """Whether a group tagged `owner` belongs to a supervisor that is gone. Groups tagged in
    another PID namespace than ours cannot be judged from here and are never stale."""
    pid_text, _, namespace = owner.partition("-ns")
    ours = owner_tag().partition("-ns")[2]
    if not pid_text.isdigit() or namespace != ours:
        return False
    return int(pid_text) == os.getpid() or not pid_exists(int(pid_text))


def cleanup_stale(prefix: str = DEFAULT_PREFIX, *, timeout_s: float = 10.0) -> list[Path]:
    """Remove groups named `<prefix><name>.<pid>` whose supervisor pid is gone.

    A SIGKILLed supervisor cannot clean up; the next one does. Groups of a live supervisor
    (another memwarden next to us) are left alone. Returns the removed directories.
    """
    try:
        version, parent = find_parent()
    except CgroupUnavailable:
        return []
    parents: list[tuple[int, Path]] = [(version, parent)]
    if version == 1 and (frozen := freezer_parent()) is not None:
        parents.append((1, frozen))
    removed = []
    for group_version, directory in parents:
        for entry in sorted(directory.iterdir()):
            if not entry.is_dir() or not entry.name.startswith(prefix):
                continue
            _, _, owner = entry.name.rpartition(".")
            if not _stale(owner):
                continue
            _empty_and_remove(entry, group_version, timeout_s)
            removed.append(entry)
    return removed


@dataclass(eq=False)
class OwnedCgroup:
    """One program's memory cgroup, created and removed by this supervisor."""

    version: Literal[1, 2]
    path: Path
    hard_limit_bytes: int
    _usage_fd: int = -1
    _limit_bytes: int = 0
    _closed: bool = field(default=False)
    freezer: Freezer | None = None  # v1: a freezer group of the same name, when available

    @classmethod
    def create(
        cls, name: str, hard_limit_bytes: int, *, prefix: str = DEFAULT_PREFIX
    ) -> OwnedCgroup:
        """mkdir `<own group>/<prefix><name>.<owner tag>`, set the wall; else CgroupUnavailable."""
        version, parent = find_parent()
        path = parent / f"{prefix}{_NAME_UNSAFE.sub('_', name)}.{owner_tag()}"
        try:
            path.mkdir()
        except FileExistsError:
            _empty_and_remove(path, version, 10.0)  # ours from a previous run of this pid
            path.mkdir()
        except OSError as err:
            raise CgroupUnavailable(f"cannot create {path}: {err}") from err
        group = cls(version, path, hard_limit_bytes)
        if version == 1:
            group.freezer = Freezer.create(path.name)
        try:
            group.reset_limits()
            if version == 1:
                _write(path / "memory.oom_control", "1")
            usage_file = "memory.usage_in_bytes" if version == 1 else "memory.current"
            group._usage_fd = os.open(path / usage_file, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            group.destroy()
            raise CgroupUnavailable(f"cannot configure {path}: {err}") from err
        return group

    # -- limits ------------------------------------------------------------------------------
    def _set_limit(self, limit_bytes: int) -> None:
        raising = 0 < self._limit_bytes <= limit_bytes  # a new group starts unlimited
        if self.version == 1:
            # memsw (memory+swap) must stay >= the memory limit: raise it first, lower it last.
            memsw = self.path / "memory.memsw.limit_in_bytes"
            if raising and memsw.exists():
                _write(memsw, str(limit_bytes))
            _write(self.path / "memory.limit_in_bytes", str(limit_bytes))
            if not raising and memsw.exists():
                _write(memsw, str(limit_bytes))
        else:
            high = max(limit_bytes - V2_HIGH_MARGIN_BYTES, limit_bytes * 9 // 10)
            if raising:
                _write(self.path / "memory.max", str(limit_bytes))
                _write(self.path / "memory.high", str(high))
            else:
                _write(self.path / "memory.high", str(high))
                _write(self.path / "memory.max", str(limit_bytes))
        self._limit_bytes = limit_bytes

    def reset_limits(self) -> None:
        """Back to the hard limit (after grant_headroom, before the next generation starts)."""
        self._set_limit(self.hard_limit_bytes)

    def grant_headroom(self, extra_bytes: int = HEADROOM_BYTES) -> int:
        """Raise the wall by extra_bytes so a paused task can run its SIGTERM handler.

        Returns the new limit. Call it after sending SIGTERM; call again (bounded by the grace
        period) if the handler hits the raised wall too.
        """
        self._set_limit(self._limit_bytes + extra_bytes)
        return self._limit_bytes

    @property
    def limit_bytes(self) -> int:
        return self._limit_bytes

    # -- membership --------------------------------------------------------------------------
    def preexec(self) -> None:
        """For preexec_fn: the forked child moves itself in before exec ("0" means the writer)."""
        _write(self.path / "cgroup.procs", "0")
        if self.freezer is not None:
            self.freezer.preexec()

    def add_pid(self, pid: int) -> None:
        _write(self.path / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        return _pids(self.path)

    def kill(self) -> int:
        """SIGKILL every process in the group: v2 `cgroup.kill` (the kernel kills them all,
        forks in flight included), and each pid of `cgroup.procs` (v1, and v2 kernels before
        5.14). A fork can race one round on v1: callers repeat until pids() is empty.
        Returns how many pids were listed."""
        if self.version == 2 and (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.path / "cgroup.kill", "1")
        frozen = self.freezer is not None and self.freezer.freeze()
        try:
            listed = self.pids()
            if self.freezer is not None:
                listed = sorted({*listed, *_pids(self.freezer.path)})
            for pid in listed:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            if frozen and self.freezer is not None:
                self.freezer.thaw()  # the SIGKILLed tasks die as they thaw
        return len(listed)

    # -- figures -----------------------------------------------------------------------------
    def usage_bytes(self) -> int:
        """Current charge (v1 memory.usage_in_bytes, v2 memory.current): one pread, ~1.4 µs."""
        return int(os.pread(self._usage_fd, 32, 0))

    def is_paused(self) -> bool:
        """v1: a task sleeps at the wall (under_oom 1). v2: throttled (usage at memory.high)."""
        if self.version == 1:
            return _flat_keyed(_read_text(self.path / "memory.oom_control")).get("under_oom") == 1
        high = _read_text(self.path / "memory.high").strip()
        if high == "max" or self.usage_bytes() < int(high):
            return False
        # Page cache fills a group up to memory.high and is reclaimed there: only memory the
        # kernel cannot reclaim (anon, shmem, kernel) near the wall means a throttled task.
        stat = _flat_keyed(_read_text(self.path / "memory.stat"))
        pinned = self.usage_bytes() - stat.get("file", 0) + stat.get("shmem", 0)
        return pinned >= int(high) - max(V2_PAUSE_SLACK_BYTES, int(high) // 16)

    def oom_kill_count(self) -> int:
        """How many tasks the kernel OOM-killed in this group (to name an OOM kill)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        return _flat_keyed(_read_text(self.path / name)).get("oom_kill", 0)

    # -- teardown ----------------------------------------------------------------------------
    def destroy(self, timeout_s: float = 10.0) -> None:
        """Kill what is left in the group, wait until empty, rmdir. Safe to call twice."""
        if self._usage_fd >= 0:
            os.close(self._usage_fd)
            self._usage_fd = -1
        if not self._closed:
            self._closed = True
            _empty_and_remove(self.path, self.version, timeout_s)
            if self.freezer is not None:
                _empty_and_remove(self.freezer.path, 1, timeout_s)


def graceful_stop(
    group: OwnedCgroup, pgid: int, *, headroom_bytes: int = HEADROOM_BYTES
) -> bool:
    """SIGTERM the program's process group, then lift a paused group's wall a little.

    Returns True when headroom was granted (the group was paused at the wall). Raises
    ProcessLookupError when the group is already gone.
    """
    os.killpg(pgid, signal.SIGTERM)
    if group.is_paused():
        group.grant_headroom(headroom_bytes)
        return True
    return False
