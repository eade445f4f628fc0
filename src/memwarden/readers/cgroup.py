"""The container: cgroup v1 and v2 memory figures, found from `/proc/self/cgroup` and mountinfo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memwarden.readers.proc import PROC_ROOT


@dataclass(frozen=True, slots=True)
class CgroupLocation:
    version: Literal[1, 2]
    path: Path  # the group's directory, e.g. /sys/fs/cgroup/memory/kubepods/pod123


@dataclass(frozen=True, slots=True)
class CgroupMemory:
    version: Literal[1, 2]
    path: str
    usage_bytes: int | None  # v2 memory.current, v1 memory.usage_in_bytes
    limit_bytes: int | None  # v2 memory.max, v1 memory.limit_in_bytes; None = no limit ("max"/huge)
    high_bytes: int | None  # v2 memory.high; None = "max" or v1
    anon_bytes: int | None
    file_bytes: int | None
    inactive_file_bytes: int | None  # v1: total_inactive_file (hierarchical)
    working_set_bytes: int | None  # usage - inactive_file, floored at 0, as kubelet computes it
    oom_events: int | None  # v2 memory.events oom; v1: None
    oom_kill_events: int | None  # v2 memory.events oom_kill; v1 memory.oom_control oom_kill
    failcnt: int | None  # v1 memory.failcnt; v2 memory.events max
    under_oom: bool | None  # v1 memory.oom_control under_oom
    oom_kill_disabled: bool | None  # v1 memory.oom_control oom_kill_disable


def find_memory_cgroup(
    pid: int | Literal["self"] = "self",
    proc_root: Path = PROC_ROOT,
) -> CgroupLocation | None:
    """The memory cgroup of pid: v2 unified if it has the memory controller, else v1 memory.

    Reads `/proc/PID/cgroup` and `/proc/PID/mountinfo` (mount root and mount point, so a
    container that sees its own group as "/" still finds the right directory). None when there
    is no memory cgroup (not Linux, no controller mounted).
    """
    raise NotImplementedError


def read_cgroup_memory(location: CgroupLocation) -> CgroupMemory | None:
    """None when the directory is gone; individual unreadable files give None fields."""
    raise NotImplementedError
