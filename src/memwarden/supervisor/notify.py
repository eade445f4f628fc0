"""Event-driven memory detection: file descriptors the supervisor loop selects on.

Every notifier has `fileno()` (readable when something happened: register it with the loop's
selector for EVENT_READ), `drain() -> int` (how many notifications arrived; call it in the
callback, then re-check usage: a v1 threshold fires in both directions) and `close()`, plus a
`mode` string for the log line ("detection: cgroup-v1-eventfd").

- cgroup v1 (`cgroup.event_control` + eventfd): a usage threshold on memory.usage_in_bytes and
  OOM events on memory.oom_control (a task paused at the wall). Wakes ≤ 0.2 ms after the
  crossing here, but only on the *next* charge after it (≤ ~0.75 MB later): keep a slow backup
  poll.
- cgroup v2 memory.events: the kernel sends a file-modified event (POLLPRI) when a counter
  (high, max, oom, oom_kill) changes; re-read the file to re-arm.
- PSI triggers on /proc/pressure/memory or a v2 group's memory.pressure: POLLPRI when stall
  time exceeds the threshold within the window. Blind to a fast spike; useful for slow squeeze.

POLLPRI-only sources are wrapped in their own epoll object: a selector registers EVENT_READ
(EPOLLIN), which a kernfs file always reports and a PSI trigger never does, so the raw fd
would spin or stay silent. The inner epoll's own fd is readable exactly when POLLPRI fired.
"""

from __future__ import annotations

import contextlib
import os
import select
from pathlib import Path

from memwarden.errors import MemwardenError
from memwarden.readers.proc import PROC_ROOT

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False

PSI_WINDOW_UNIT_US = 2_000_000  # without CAP_SYS_RESOURCE the window must be a multiple of 2 s


class NotifyUnavailable(MemwardenError):
    """This notification mechanism cannot be armed here; str() is the reason to log."""


if TYPE_CHECKING:
    from typing import Protocol

    class Notifier(Protocol):
        mode: str

        def fileno(self) -> int: ...

        def drain(self) -> int: ...

        def close(self) -> None: ...


class CgroupV1Event:
    """An eventfd registered through a v1 group's cgroup.event_control.

    `threshold_bytes` given: fires when memory.usage_in_bytes crosses it (either direction).
    `threshold_bytes` None with control_file "memory.oom_control": fires on each OOM (pause).
    """

    mode = "cgroup-v1-eventfd"

    def __init__(
        self,
        group_dir: Path,
        *,
        threshold_bytes: int | None = None,
        control_file: str = "memory.usage_in_bytes",
    ) -> None:
        self.group_dir = Path(group_dir)
        self.threshold_bytes = threshold_bytes
        self._event_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        control_fd = -1
        try:
            control_fd = os.open(self.group_dir / control_file, os.O_RDONLY | os.O_CLOEXEC)
            line = f"{self._event_fd} {control_fd}"
            if threshold_bytes is not None:
                line += f" {threshold_bytes}"
            with open(self.group_dir / "cgroup.event_control", "w") as control:
                control.write(line)
        except OSError as err:
            os.close(self._event_fd)
            raise NotifyUnavailable(f"{self.group_dir}/cgroup.event_control: {err}") from err
        finally:
            # The kernel holds its own reference; the registration lives as long as the eventfd.
            if control_fd >= 0:
                os.close(control_fd)

    @classmethod
    def oom(cls, group_dir: Path) -> CgroupV1Event:
        return cls(group_dir, control_file="memory.oom_control")

    def fileno(self) -> int:
        return self._event_fd

    def drain(self) -> int:
        try:
            return os.eventfd_read(self._event_fd)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        if self._event_fd >= 0:
            os.close(self._event_fd)  # closing the eventfd unregisters the event
            self._event_fd = -1


class _PriorityFile:
    """A file whose events arrive as POLLPRI, behind an epoll fd that reads as EPOLLIN."""

    mode = "poll"

    def __init__(self, path: Path, flags: int, arm: bytes | None) -> None:
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, flags | os.O_CLOEXEC)
        except OSError as err:
            raise NotifyUnavailable(f"cannot open {self.path}: {err}") from err
        self._epoll = select.epoll()
        try:
            if arm is not None:
                os.write(self._fd, arm)
            self._epoll.register(self._fd, select.EPOLLPRI)
        except OSError as err:
            self.close()
            raise NotifyUnavailable(f"{self.path} rejected {arm!r}: {err}") from err

    def fileno(self) -> int:
        return self._epoll.fileno()

    def _poll(self) -> int:
        if self._fd < 0:
            return 0
        return sum(1 for _fd, mask in self._epoll.poll(0) if mask & select.EPOLLPRI)

    def drain(self) -> int:
        return self._poll()

    def close(self) -> None:
        self._epoll.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class CgroupEventsV2(_PriorityFile):
    """A cgroup v2 flat-keyed events file: memory.events by default (high, max, oom, oom_kill
    change), cgroup.events (populated, frozen) works the same way. `events` holds the last
    values read, so the callback can tell which counter moved."""

    mode = "cgroup-v2-events"

    def __init__(self, group_dir: Path, file_name: str = "memory.events") -> None:
        super().__init__(Path(group_dir) / file_name, os.O_RDONLY, None)
        self.events: dict[str, int] = {}
        self.drain()  # reading it arms the notification

    def drain(self) -> int:
        fired = self._poll()
        # kernfs compares the open file's event count with the node's: a read re-arms it.
        text = os.pread(self._fd, 4096, 0).decode()
        self.events = {k: int(v) for k, v in (line.split() for line in text.splitlines())}
        return fired


class PsiTrigger(_PriorityFile):
    """A PSI trigger: `some <stall_us> <window_us>` on a pressure file (kept open: closing it
    removes the trigger). Without CAP_SYS_RESOURCE the kernel only takes windows that are a
    multiple of 2 s (seen here as root in a container): a window it rejects is rounded up to
    one and tried again; `window_us` is the window in force."""

    mode = "psi"

    def __init__(
        self,
        path: Path = PROC_ROOT / "pressure" / "memory",
        *,
        stall_us: int = 150_000,
        window_us: int = PSI_WINDOW_UNIT_US,
        kind: str = "some",
    ) -> None:
        if not 0 < stall_us <= window_us:
            raise NotifyUnavailable(f"PSI stall {stall_us} µs must be within the window")
        rounded_us = -(-window_us // PSI_WINDOW_UNIT_US) * PSI_WINDOW_UNIT_US
        try:
            self._arm(Path(path), kind, stall_us, window_us)
        except NotifyUnavailable:
            if rounded_us == window_us:
                raise
            self._arm(Path(path), kind, stall_us, rounded_us)

    def drain(self) -> int:
        """Call on a wake-up only: 1. The kernel clears a PSI event in the first poll that sees
        it, and behind the loop's selector that is the selector's own readiness check, so the
        inner epoll finds nothing left (seen here); the wake-up itself is the event."""
        self._poll()
        return 1

    def _arm(self, path: Path, kind: str, stall_us: int, window_us: int) -> None:
        self.window_us = window_us
        self.spec = f"{kind} {stall_us} {window_us}"
        # The kernel parses the write as a C string: it must end in NUL (measured here).
        super().__init__(path, os.O_RDWR | os.O_NONBLOCK, self.spec.encode() + b"\0")


def arm_v1(group_dir: Path, threshold_bytes: int) -> list[Notifier]:
    """The v1 pair for an owned group: usage crossing threshold_bytes, and OOM (paused)."""
    threshold = CgroupV1Event(group_dir, threshold_bytes=threshold_bytes)
    try:
        return [threshold, CgroupV1Event.oom(group_dir)]
    except NotifyUnavailable:
        threshold.close()
        raise


def describe(notifiers: list[Notifier]) -> str:
    """The mode for the log line: the distinct modes in use, or "poll" with none."""
    modes = dict.fromkeys(n.mode for n in notifiers)
    return "+".join(modes) or "poll"


def close_all(notifiers: list[Notifier]) -> None:
    for notifier in notifiers:
        with contextlib.suppress(OSError):
            notifier.close()
