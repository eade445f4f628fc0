"""The machine: MemTotal/MemAvailable and pressure stall information (PSI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memwarden.readers.proc import PROC_ROOT


@dataclass(frozen=True, slots=True)
class SystemMemory:
    total_bytes: int
    available_bytes: int | None  # MemAvailable (not free+cached)
    swap_total_bytes: int | None
    swap_free_bytes: int | None


@dataclass(frozen=True, slots=True)
class PressureLine:
    avg10: float  # percent of wall time stalled, 10 s average
    avg60: float
    avg300: float
    total_us: int  # cumulative stall time in microseconds


@dataclass(frozen=True, slots=True)
class Pressure:
    some: PressureLine
    full: PressureLine | None  # absent on some kernels for the system-wide cpu file


def read_system_memory(proc_root: Path = PROC_ROOT) -> SystemMemory | None:
    raise NotImplementedError


def read_pressure(path: Path) -> Pressure | None:
    """Parse a PSI file: `/proc/pressure/memory` or a cgroup's `memory.pressure`."""
    raise NotImplementedError
