"""The machine: MemTotal/MemAvailable and pressure stall information (PSI)."""

from __future__ import annotations

from pathlib import Path

from memwarden.readers.proc import PROC_ROOT, read_file_bytes, status_field
from memwarden.record import record

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from memwarden.readers.cgroup import CgroupLocation


@record
class SystemMemory:
    total_bytes: int
    available_bytes: int | None  # MemAvailable (not free+cached)
    swap_total_bytes: int | None
    swap_free_bytes: int | None


@record
class PressureLine:
    avg10: float  # percent of wall time stalled, 10 s average
    avg60: float
    avg300: float
    total_us: int  # cumulative stall time in microseconds


@record
class Pressure:
    some: PressureLine
    full: PressureLine | None  # absent on some kernels for the system-wide cpu file


def memory_pressure_path(
    location: CgroupLocation | None, proc_root: Path = PROC_ROOT
) -> Path:
    """A v2 group's memory.pressure when it has one (the container's pressure), else the
    system's `/proc/pressure/memory`."""
    if location is not None and location.version == 2:
        candidate = location.path / "memory.pressure"
        if candidate.exists():
            return candidate
    return proc_root / "pressure" / "memory"


def read_system_memory(proc_root: Path = PROC_ROOT) -> SystemMemory | None:
    """None when `/proc/meminfo` is unreadable or has no MemTotal."""
    try:
        raw = read_file_bytes(proc_root / "meminfo")
    except OSError:
        return None
    total_bytes = status_field(raw, b"MemTotal")
    if total_bytes is None:
        return None
    return SystemMemory(
        total_bytes=total_bytes,
        available_bytes=status_field(raw, b"MemAvailable"),  # absent before Linux 3.14
        swap_total_bytes=status_field(raw, b"SwapTotal"),
        swap_free_bytes=status_field(raw, b"SwapFree"),
    )


def _parse_pressure_line(text: str) -> PressureLine | None:
    values: dict[str, str] = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if sep:
            values[key] = value
    try:
        return PressureLine(
            avg10=float(values["avg10"]),
            avg60=float(values["avg60"]),
            avg300=float(values["avg300"]),
            total_us=int(values["total"]),
        )
    except (KeyError, ValueError):
        return None


def parse_pressure(text: str) -> Pressure | None:
    lines: dict[str, PressureLine | None] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("some", "full"):
            lines[kind] = _parse_pressure_line(rest)
    some = lines.get("some")
    if some is None:
        return None
    return Pressure(some=some, full=lines.get("full"))


def read_pressure(path: Path) -> Pressure | None:
    """Parse a PSI file: `/proc/pressure/memory` or a cgroup's `memory.pressure`.

    None when the file is missing or unreadable (kernel without CONFIG_PSI, or psi=0 where
    reading gives EOPNOTSUPP) or has no valid `some` line.
    """
    try:
        text = read_file_bytes(path).decode("ascii", "replace")
    except OSError:
        return None
    return parse_pressure(text)
