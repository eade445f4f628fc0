"""The container: cgroup v1 and v2 memory figures, found from `/proc/self/cgroup` and mountinfo."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path, PurePosixPath

from memwarden.readers.proc import PROC_ROOT, read_file_bytes
from memwarden.record import record

# Not `from typing import Literal` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

# v1 reports "no limit" as PAGE_COUNTER_MAX * page size (9223372036854771712 with 4 KiB pages,
# 9223372036854710272 with 64 KiB pages). Anything at or above 2**62 (4 EiB) is that sentinel:
# no machine has that much memory, and the rule holds for every page size.
V1_NO_LIMIT_BYTES = 2**62


@record
class CgroupLocation:
    version: Literal[1, 2]
    path: Path  # the group's directory, e.g. /sys/fs/cgroup/memory/kubepods/pod123


@record
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


@record
class _Mount:
    root: str  # the directory of the hierarchy that is mounted (not "/" in many containers)
    mount_point: str
    fstype: str
    super_options: frozenset[str]


_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[_Mount]:
    mounts: list[_Mount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] not in ("cgroup", "cgroup2"):
            continue
        mounts.append(
            _Mount(
                root=_unescape(fields[3]),
                mount_point=_unescape(fields[4]),
                fstype=tail[0],
                super_options=frozenset(tail[2].split(",")),
            )
        )
    return mounts


def parse_proc_cgroup(text: str) -> tuple[str | None, str | None]:
    """(v1 memory group path, v2 unified group path) from `/proc/PID/cgroup`."""
    v1_path = v2_path = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy_id, controllers, group = parts
        if hierarchy_id == "0" and controllers == "":
            v2_path = group
        elif "memory" in controllers.split(","):
            v1_path = group
    return v1_path, v2_path


def _group_dir(mount: _Mount, group: str, fs_root: Path) -> Path | None:
    """The directory of `group` under a mount whose root may itself be a subgroup."""
    group_path, root_path = PurePosixPath(group), PurePosixPath(mount.root)
    try:
        relative = group_path.relative_to(root_path)
    except ValueError:
        return None  # the group is outside what this mount shows
    if ".." in relative.parts:
        return None  # another cgroup namespace's view: not reachable from this mount
    return fs_root / mount.mount_point.lstrip("/") / relative


def _v2_has_memory(directory: Path, mount_dir: Path) -> bool:
    # A group's cgroup.controllers lists what its parent enabled for it; the mount root's lists
    # what the hierarchy has at all. Ask the group first, the root when the group's is unreadable.
    for candidate in (directory, mount_dir):
        try:
            return b"memory" in read_file_bytes(candidate / "cgroup.controllers").split()
        except OSError:
            continue
    return False


def find_memory_cgroup(
    pid: int | Literal["self"] = "self",
    proc_root: Path = PROC_ROOT,
    *,
    fs_root: Path = Path("/"),
) -> CgroupLocation | None:
    """The memory cgroup of pid: v2 unified if it has the memory controller, else v1 memory.

    Reads `/proc/PID/cgroup` and `/proc/PID/mountinfo` (mount root and mount point, so a
    container that sees its own group as "/" still finds the right directory). None when there
    is no memory cgroup (not Linux, no controller mounted). `fs_root` prefixes mount points
    (fixture trees).
    """
    try:
        cgroup_text = read_file_bytes(f"{proc_root}/{pid}/cgroup").decode("utf-8", "replace")
        mountinfo = read_file_bytes(f"{proc_root}/{pid}/mountinfo").decode("utf-8", "replace")
    except OSError:
        return None
    v1_group, v2_group = parse_proc_cgroup(cgroup_text)
    mounts = parse_mountinfo(mountinfo)
    if v2_group is not None:
        for mount in mounts:
            if mount.fstype != "cgroup2":
                continue
            directory = _group_dir(mount, v2_group, fs_root)
            mount_dir = fs_root / mount.mount_point.lstrip("/")
            if directory is not None and _v2_has_memory(directory, mount_dir):
                return CgroupLocation(2, directory)
    if v1_group is not None:
        for mount in mounts:
            if mount.fstype != "cgroup" or "memory" not in mount.super_options:
                continue
            directory = _group_dir(mount, v1_group, fs_root)
            if directory is not None:
                return CgroupLocation(1, directory)
    return None


def find_v1_cgroup(controller: str, pid: int | Literal["self"] = "self",
                   proc_root: Path = PROC_ROOT, *, fs_root: Path = Path("/")) -> Path | None:
    """pid's group directory in the cgroup v1 hierarchy of `controller` (e.g. "freezer"), or
    None when that controller is not mounted as v1."""
    try:
        cgroup_text = read_file_bytes(f"{proc_root}/{pid}/cgroup").decode("utf-8", "replace")
        mountinfo = read_file_bytes(f"{proc_root}/{pid}/mountinfo").decode("utf-8", "replace")
    except OSError:
        return None
    group = None
    for line in cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            group = parts[2]
    if group is None:
        return None
    for mount in parse_mountinfo(mountinfo):
        if mount.fstype == "cgroup" and controller in mount.super_options:
            directory = _group_dir(mount, group, fs_root)
            if directory is not None:
                return directory
    return None


def _read_text(path: Path) -> str | None:
    try:
        return read_file_bytes(path).decode("utf-8", "replace")
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _read_v2_limit(path: Path) -> int | None:
    # "max" means no limit; a missing file is unknown. Both are None: neither bounds memory.
    text = _read_text(path)
    if text is None or text.strip() == "max":
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _read_flat_keyed(path: Path) -> dict[str, int] | None:
    """`key value` lines (memory.stat, memory.events, memory.oom_control)."""
    text = _read_text(path)
    if text is None:
        return None
    table: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            table[parts[0]] = int(parts[1])
    return table


def _working_set(usage: int | None, inactive_file: int | None) -> int | None:
    if usage is None or inactive_file is None:
        return None
    return max(0, usage - inactive_file)


def read_cgroup_memory(location: CgroupLocation) -> CgroupMemory | None:
    """None when the directory is gone; individual unreadable files give None fields."""
    if not location.path.is_dir():
        return None
    if location.version == 2:
        return _read_v2(location.path)
    return _read_v1(location.path)


def _read_v2(path: Path) -> CgroupMemory:
    usage = _read_int(path / "memory.current")
    stat = _read_flat_keyed(path / "memory.stat") or {}
    events = _read_flat_keyed(path / "memory.events") or {}
    inactive_file = stat.get("inactive_file")
    return CgroupMemory(
        version=2,
        path=str(path),
        usage_bytes=usage,
        limit_bytes=_read_v2_limit(path / "memory.max"),
        high_bytes=_read_v2_limit(path / "memory.high"),
        anon_bytes=stat.get("anon"),
        file_bytes=stat.get("file"),
        inactive_file_bytes=inactive_file,
        working_set_bytes=_working_set(usage, inactive_file),
        oom_events=events.get("oom"),
        oom_kill_events=events.get("oom_kill"),
        failcnt=events.get("max"),
        under_oom=None,
        oom_kill_disabled=None,
    )


def _hierarchical(stat: dict[str, int], key: str) -> int | None:
    # total_* includes the subgroups (what the limit is charged with); plain keys are local only.
    total = stat.get(f"total_{key}")
    return total if total is not None else stat.get(key)


def _read_v1(path: Path) -> CgroupMemory:
    usage = _read_int(path / "memory.usage_in_bytes")
    limit = _read_int(path / "memory.limit_in_bytes")
    if limit is not None and limit >= V1_NO_LIMIT_BYTES:
        limit = None
    stat = _read_flat_keyed(path / "memory.stat") or {}
    oom = _read_flat_keyed(path / "memory.oom_control")
    inactive_file = _hierarchical(stat, "inactive_file")
    return CgroupMemory(
        version=1,
        path=str(path),
        usage_bytes=usage,
        limit_bytes=limit,
        high_bytes=None,
        anon_bytes=_hierarchical(stat, "rss"),
        file_bytes=_hierarchical(stat, "cache"),
        inactive_file_bytes=inactive_file,
        working_set_bytes=_working_set(usage, inactive_file),
        oom_events=None,
        oom_kill_events=oom.get("oom_kill") if oom is not None else None,
        failcnt=_read_int(path / "memory.failcnt"),
        under_oom=bool(oom["under_oom"]) if oom and "under_oom" in oom else None,
        oom_kill_disabled=(
            bool(oom["oom_kill_disable"]) if oom and "oom_kill_disable" in oom else None
        ),
    )


class CgroupUsageReader:
    """The group's usage by pread on a kept fd (~0.5–1.4 µs): for tight poll loops.

    v2 `memory.current`, v1 `memory.usage_in_bytes`. None once the group is removed.
    """

    def __init__(self, location: CgroupLocation) -> None:
        name = "memory.current" if location.version == 2 else "memory.usage_in_bytes"
        self.path = location.path / name
        self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def read_usage_bytes(self) -> int | None:
        if self._fd is None:
            raise ValueError(f"CgroupUsageReader for {self.path} is closed")
        try:
            raw = os.pread(self._fd, 64, 0)
        except OSError:
            return None  # ENODEV: the group was removed under us
        return int(raw) if raw.strip().isdigit() else None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CgroupUsageReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit os may be gone already
            self.close()
