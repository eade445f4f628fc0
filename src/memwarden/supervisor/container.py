"""The container's own cgroup v2 group, watched where memwarden cannot own groups.

In a Docker or Kubernetes container the cgroupfs is mounted read-only inside a cgroup
namespace: memwarden sees its container's group as `/sys/fs/cgroup` but may not create groups
there nor write a PSI trigger. What still works, and what this adds to the poll:

- `memory.events` (max, oom, oom_kill) notifies a change on a read-only mount too: every
  change wakes the loop to sample every program at once, and a rising `oom_kill` is named
  ("the kernel OOM-killed a process in the container"), whichever process it took;
- `memory.pressure` is read (its cumulative stall time) once per PSI window: a window with
  more stall than the `--psi` threshold samples every program, as a trigger would.

It is armed when the supervisor's own group is cgroup v2 with a `memory.max` and no program
got an owned group (an owned group's events speak for that program). The start-up log says so.
"""

from __future__ import annotations

import time

from memwarden.units import format_bytes

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import selectors
    from pathlib import Path

    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.notify import CgroupEventsV2

LOG_EVERY_S = 60.0  # sustained pressure is logged once a minute; it samples every window


def container_group() -> Path | None:
    """The supervisor's own v2 group when it has a memory.max (a container), else None."""
    from memwarden.readers.cgroup import read_cgroup_memory
    from memwarden.supervisor.cgroupctl import supervisor_group

    location = supervisor_group()
    if location is None or location.version != 2:
        return None
    memory = read_cgroup_memory(location)
    if memory is None or memory.limit_bytes is None:
        return None
    return location.path


def stall_us(pressure_file: Path, kind: str = "some") -> int | None:
    """Cumulative stall time ("some" or "full") of a PSI file, µs; None where unreadable."""
    from memwarden.readers.system import read_pressure

    pressure = read_pressure(pressure_file)
    if pressure is None:
        return None
    line = pressure.full if kind == "full" else pressure.some
    return line.total_us if line is not None else None


class ContainerWatch:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.group: Path | None = None
        self.events: CgroupEventsV2 | None = None
        self.oom_kills = 0
        self.pressure_fired = 0
        self._stall_us: int | None = None
        self._next_pressure_s = float("inf")
        self._logged_s = float("-inf")

    @property
    def mode(self) -> str:
        """For the detection line: what the container watch adds ('' when not armed)."""
        parts = ["container-events"] if self.events is not None else []
        if self._stall_us is not None:
            parts.append("container-psi-avg")
        return "+".join(parts)

    def setup(self) -> None:
        if self.sup.cgroups.owned or not self.sup.runs:
            return
        group = container_group()
        if group is None:
            return
        from memwarden.supervisor.notify import CgroupEventsV2, NotifyUnavailable

        self.group = group
        try:
            self.events = CgroupEventsV2(group)
        except NotifyUnavailable as err:
            self.sup.sink.event("info", f"container memory.events unavailable ({err})")
        else:
            self.oom_kills = self.events.events.get("oom_kill", 0)
            self.sup.add_reader(self.events.fileno(), self._on_events)
        spec = self.sup.config.psi
        if spec is not None and not self.sup.pressure.armed:
            self._stall_us = stall_us(group / "memory.pressure", spec.kind)
            if self._stall_us is not None:
                self._next_pressure_s = time.monotonic() + spec.window_us / 1e6
        if self.mode:
            self.sup.sink.event("info", f"container {group}: watching {self.mode} (a memory.max "
                                "and no owned cgroup: its changes wake the loop)")

    def deadline_s(self) -> float:
        return self._next_pressure_s

    def _sample_all(self) -> None:
        for run in self.sup.runs.values():
            if run.state == "running" and run.alive:
                self.sup.memory.sample(run)

    def _on_events(self, _selector: selectors.BaseSelector) -> None:
        if self.events is None or self.group is None:
            return
        self.events.drain()
        events = self.events.events
        kills = events.get("oom_kill", 0)
        if kills > self.oom_kills:
            from memwarden.readers.cgroup import CgroupLocation, read_cgroup_memory

            memory = read_cgroup_memory(CgroupLocation(2, self.group))
            limit = memory.limit_bytes if memory is not None else None
            from memwarden.events import EventKind, Level

            # One event for the container (no program: the victim may be any of its processes).
            self.sup.events.emit(
                EventKind.OOM_KILL, f"the kernel OOM-killed {kills - self.oom_kills} "
                f"process(es) in the container {self.group} (memory.events oom_kill "
                f"{self.oom_kills} -> {kills}, memory.max "
                f"{format_bytes(limit) if limit else '?'})", level=Level.WARNING,
                oom_kill_events=kills, oom_events=events.get("oom", 0),
                max_events=events.get("max", 0), limit_bytes=limit)
            self.oom_kills = kills
        self._sample_all()

    def on_timer(self, now_s: float) -> None:
        """Once per PSI window: more stall than the --psi threshold samples every program."""
        spec = self.sup.config.psi
        if now_s < self._next_pressure_s or spec is None or self.group is None:
            return
        self._next_pressure_s = now_s + spec.window_us / 1e6
        total = stall_us(self.group / "memory.pressure", spec.kind)
        if total is None or self._stall_us is None:
            return
        stalled_us, self._stall_us = total - self._stall_us, total
        if stalled_us < spec.stall_us:
            return
        self.pressure_fired += 1
        if now_s - self._logged_s >= LOG_EVERY_S:
            self._logged_s = now_s
            self.sup.sink.event("info", f"memory pressure: the container stalled "
                                f"{stalled_us / 1e3:.0f} ms in the last "
                                f"{spec.window_us / 1e6:g} s ({self.group}/memory.pressure, "
                                f"count {self.pressure_fired}): sampling every program now")
        self._sample_all()

    def close(self) -> None:
        if self.events is not None:
            self.sup.remove_reader(self.events.fileno())
            self.events.close()
            self.events = None
