"""A process tree re-read by pread on kept file descriptors: what a sampler calls every tick.

A one-off tree read opens every `statm` and every `task/TID/children` file afresh (~10 µs an
open). A `TreeReader` opens a process's files once, when the process first appears in the
tree, and then only preads them (~1.5 µs each); a process that leaves the tree has its fds
closed. A read re-reads only what changed: a process whose statm is byte for byte the same
keeps its figures object, and a tree where nothing changed is the same TreeMemory. The thread
list of a process is re-listed when its thread count changes (`st_nlink` of its `task`
directory, one fstat, looked at when its virtual size changed: a new thread maps a stack) and every
`RELIST_EVERY` reads (a thread that reused a cached stack, or one swapped for another).

A kept fd names the process, not the number: once a process is reaped its fds give ESRCH even
if the pid is reused, and the new process is opened afresh.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from memwarden.errors import NoSuchProcessError, ReaderError
from memwarden.readers.proc import (
    PAGE_SIZE_BYTES,
    PROC_ROOT,
    ProcessMemory,
    translate_os_error,
    with_status_fields,
)
from memwarden.readers.tree import (
    TreeMemory,
    has_children_files,
    list_children,
    read_tree_memory,
    tree_of,
)

RELIST_EVERY = 32  # reads between forced thread re-lists (a thread swapped for another)
_STATM_READ_BYTES = 256
_CHILDREN_READ_BYTES = 65536  # one pread holds ~9,000 child pids


class _Threads:
    """One process's task directory and its threads' `children` files, kept open."""

    __slots__ = ("children", "children_fds", "children_raw", "nlink", "pid", "task_fd")

    def __init__(self, pid: int, task_fd: int) -> None:
        self.pid = pid
        self.task_fd = task_fd
        self.nlink = -1  # forces the first thread listing
        self.children_fds: list[int] = []
        self.children_raw = b""  # the children files' bytes `children` was made from
        self.children: list[int] = []

    def read_children(self, proc_root: Path, look: bool, relist: bool) -> tuple[list[int], bool]:
        """The children, and whether they changed since the last read; the threads are
        re-listed first when `look` finds their count changed, or on `relist`."""
        # Children hang off the thread that forked them, so every thread's file is read.
        if look:
            try:
                nlink = os.fstat(self.task_fd).st_nlink
            except OSError:
                return [], False
            if nlink != self.nlink or relist:
                self._list_threads(proc_root)
                self.nlink = nlink
        parts: list[bytes] = []
        for fd in self.children_fds:
            try:
                raw = os.pread(fd, 4096, 0)  # a 64 KiB buffer costs more than the read
                if len(raw) == 4096:
                    raw = os.pread(fd, _CHILDREN_READ_BYTES, 0)
            except OSError:
                continue  # that thread exited: the next count change re-lists
            parts.append(raw)
        raw = parts[0] if len(parts) == 1 else b" ".join(parts)
        if raw == self.children_raw:
            return self.children, False
        self.children_raw, self.children = raw, [int(p) for p in raw.split()]
        return self.children, True

    def _list_threads(self, proc_root: Path) -> None:
        for fd in self.children_fds:
            os.close(fd)
        self.children_fds = []
        task_dir = f"{proc_root}/{self.pid}/task"
        try:
            tids = os.listdir(task_dir)
        except OSError:
            return
        for tid in tids:
            with contextlib.suppress(OSError):  # the thread exited between listdir and open
                self.children_fds.append(
                    os.open(f"{task_dir}/{tid}/children", os.O_RDONLY | os.O_CLOEXEC))

    def close(self) -> None:
        for fd in (self.task_fd, *self.children_fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.children_fds = []


class _Process(_Threads):
    __slots__ = ("memory", "raw", "statm_fd")

    def __init__(self, pid: int, statm_fd: int, task_fd: int) -> None:
        super().__init__(pid, task_fd)
        self.statm_fd = statm_fd
        self.raw = b""  # the statm bytes `memory` was made from
        self.memory: ProcessMemory | None = None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.statm_fd)
        super().close()


class TreeReader:
    """Tree memory of root pid, read again and again. Not thread-safe; close() (or `with`).

    `read()` raises NoSuchProcessError once the root is gone; descendants that vanish or
    deny access are left out, as in `read_tree_memory`. Without the kernel's children files
    (CONFIG_PROC_CHILDREN, or a fixture tree without them) every read is a one-off read.
    """

    def __init__(self, pid: int, proc_root: Path = PROC_ROOT, *,
                 with_status: bool = False) -> None:
        self.pid = pid
        self.proc_root = proc_root
        self.with_status = with_status
        self._kept: dict[int, _Process] = {}
        self._reads = 0
        self._use_fds = has_children_files(proc_root)
        self._last: TreeMemory | None = None
        self._children_moved = False  # a children file changed since the last TreeMemory

    def read(self) -> TreeMemory:
        if not self._use_fds:
            return read_tree_memory(self.pid, self.proc_root, with_status=self.with_status)
        self._reads += 1
        relist = self._reads % RELIST_EVERY == 0
        kept, pread = self._kept, os.pread
        processes: list[ProcessMemory] = []
        fresh = False  # a process's figures changed, or one came, went or could not be read
        queue = [self.pid]
        seen = {self.pid}
        for pid in queue:  # breadth first: the loop also visits what it appends
            entry = kept.get(pid)
            raw = b""
            if entry is not None:
                try:
                    raw = pread(entry.statm_fd, _STATM_READ_BYTES, 0)
                except OSError:  # ESRCH: reaped (and maybe its pid reused): open afresh
                    kept.pop(pid).close()
                    entry = None
            if entry is None:
                fresh = True
                entry = self._open(pid)
                if entry is None:
                    continue
                try:
                    raw = pread(entry.statm_fd, _STATM_READ_BYTES, 0)
                except OSError as err:
                    kept.pop(pid).close()
                    if pid == self.pid:
                        raise NoSuchProcessError(pid) from err
                    continue
            memory = entry.memory
            mapped = False  # its virtual size moved: a thread stack may have come or gone
            if memory is None or raw != entry.raw or self.with_status:
                mapped = memory is None or raw[:raw.find(b" ")] != entry.raw[:entry.raw.find(b" ")]
                memory = entry.memory = self._memory(pid, raw)
                entry.raw = raw
                fresh = True
            processes.append(memory)
            for child in self._children(entry, relist or mapped):
                if child not in seen:  # a pid reused mid-walk must not loop us
                    seen.add(child)
                    queue.append(child)
        if len(kept) > len(seen):
            fresh = True
            for pid in [p for p in kept if p not in seen]:
                kept.pop(pid).close()
        if fresh or self._children_moved or self._last is None:
            self._children_moved = False
            self._last = tree_of(self.pid, processes)
        return self._last

    def _memory(self, pid: int, raw: bytes) -> ProcessMemory:
        fields = raw.split(None, 3)
        if len(fields) < 3:
            raise ReaderError(f"{self.proc_root}/{pid}/statm", f"malformed statm: {raw!r}")
        vms, rss, shared = (int(fields[0]) * PAGE_SIZE_BYTES, int(fields[1]) * PAGE_SIZE_BYTES,
                            int(fields[2]) * PAGE_SIZE_BYTES)
        if self.with_status:
            return with_status_fields(pid, rss, vms, shared, self.proc_root)
        return ProcessMemory(pid, rss, vms, shared, None, None)

    def _open(self, pid: int) -> _Process | None:
        """Open pid's statm and task directory; None for a descendant that is gone or denied,
        the translated error for the root."""
        base = f"{self.proc_root}/{pid}"
        statm_fd = -1
        try:
            statm_fd = os.open(f"{base}/statm", os.O_RDONLY | os.O_CLOEXEC)
            task_fd = os.open(f"{base}/task", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as err:
            if statm_fd >= 0:
                os.close(statm_fd)
            if pid == self.pid:
                raise translate_os_error(err, pid, base) from err
            return None
        entry = self._kept[pid] = _Process(pid, statm_fd, task_fd)
        return entry

    def _children(self, entry: _Process, look: bool) -> list[int]:
        relist = look and self._reads % RELIST_EVERY == 0
        children, moved = entry.read_children(self.proc_root, look, relist)
        self._children_moved |= moved
        return children

    def close(self) -> None:
        for entry in self._kept.values():
            entry.close()
        self._kept.clear()

    def __enter__(self) -> TreeReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A plain try: at interpreter exit module globals (contextlib, os) may be None already.
        try:  # noqa: SIM105 - contextlib itself may be gone
            self.close()
        except Exception:
            pass



class ChildrenReader:
    """The direct children of pid (for a subreaper: the orphans re-parented to it too), read
    again and again: its threads' `children` files by pread on kept fds, the threads re-listed
    when their count changes (one fstat a read) and every RELIST_EVERY reads. Without the
    kernel's children files every read is a one-off `list_children`. Not thread-safe."""

    def __init__(self, pid: int, proc_root: Path = PROC_ROOT) -> None:
        self.pid = pid
        self.proc_root = proc_root
        self._use_fds = has_children_files(proc_root)
        self._threads: _Threads | None = None
        self._reads = 0

    def read(self) -> list[int]:
        if not self._use_fds:
            return list_children(self.pid, self.proc_root)
        if self._threads is None:
            try:
                task_fd = os.open(f"{self.proc_root}/{self.pid}/task",
                                  os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                return []  # gone (or never was): no children, as list_children says
            self._threads = _Threads(self.pid, task_fd)
        self._reads += 1
        children, _moved = self._threads.read_children(self.proc_root, True,
                                                       self._reads % RELIST_EVERY == 0)
        return list(children)

    def close(self) -> None:
        if self._threads is not None:
            self._threads.close()
            self._threads = None

    def __del__(self) -> None:
        try:  # noqa: SIM105 - contextlib itself may be gone at interpreter exit
            self.close()
        except Exception:
            pass
