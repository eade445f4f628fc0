"""meminfo, PSI (system and cgroup files) and the Python runtime counters."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.readers.runtime import read_runtime
from memwarden.readers.system import read_pressure, read_system_memory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _meminfo_kib(path: Path, key: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def test_fixture_meminfo_is_kib_times_1024() -> None:
    memory = read_system_memory(FIXTURES / "proc")
    assert memory is not None
    meminfo = FIXTURES / "proc" / "meminfo"
    assert memory.total_bytes == _meminfo_kib(meminfo, "MemTotal") * 1024
    assert memory.available_bytes == _meminfo_kib(meminfo, "MemAvailable") * 1024
    assert memory.swap_total_bytes == _meminfo_kib(meminfo, "SwapTotal") * 1024


def test_meminfo_missing_or_without_total_is_none(tmp_path: Path) -> None:
    assert read_system_memory(tmp_path) is None
    (tmp_path / "meminfo").write_text("MemFree:  100 kB\n")
    assert read_system_memory(tmp_path) is None
    (tmp_path / "meminfo").write_text("MemTotal:  100 kB\n")  # pre-3.14 kernel: no MemAvailable
    memory = read_system_memory(tmp_path)
    assert memory is not None
    assert (memory.total_bytes, memory.available_bytes) == (102400, None)


def test_real_meminfo_available_below_total() -> None:
    memory = read_system_memory()
    assert memory is not None and memory.available_bytes is not None
    assert 0 < memory.available_bytes <= memory.total_bytes


def test_cgroup_pressure_some_and_full() -> None:
    path = FIXTURES / "cgroup" / "v2-k8s" / "fs" / "sys" / "fs" / "cgroup" / "memory.pressure"
    pressure = read_pressure(path)
    assert pressure is not None
    assert (pressure.some.avg10, pressure.some.avg60, pressure.some.avg300) == (1.53, 0.87, 0.20)
    assert pressure.some.total_us == 1234567
    assert pressure.full is not None and pressure.full.total_us == 345678


def test_pressure_without_full_line_and_bad_files(tmp_path: Path) -> None:
    some_only = tmp_path / "cpu"
    some_only.write_text("some avg10=0.00 avg60=0.10 avg300=0.00 total=42\n")
    pressure = read_pressure(some_only)
    assert pressure is not None and pressure.full is None and pressure.some.total_us == 42
    assert read_pressure(tmp_path / "missing") is None
    garbled = tmp_path / "garbled"
    garbled.write_text("some avg10=x\n")
    assert read_pressure(garbled) is None


def test_real_system_pressure_when_the_kernel_has_psi() -> None:
    path = Path("/proc/pressure/memory")
    if not path.exists():
        pytest.skip("kernel without CONFIG_PSI")
    pressure = read_pressure(path)
    assert pressure is not None and pressure.full is not None
    assert 0.0 <= pressure.some.avg10 <= 100.0


@pytest.fixture
def tracing() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def test_runtime_counters_follow_gc() -> None:
    before = read_runtime()
    assert before.tracemalloc_current_bytes is None and before.tracemalloc_peak_bytes is None
    gc.collect()
    after = read_runtime()
    assert after.gc_collections[2] == before.gc_collections[2] + 1
    assert after.gc_collected_objects >= before.gc_collected_objects
    assert after.allocated_blocks > 0
    assert len(after.gc_counts) == 3


def test_runtime_tracemalloc_totals_when_tracing(tracing: None) -> None:
    held = [bytearray(1024) for _ in range(1000)]
    runtime = read_runtime()
    assert runtime.tracemalloc_current_bytes is not None
    assert runtime.tracemalloc_current_bytes >= 1000 * 1024
    assert runtime.tracemalloc_peak_bytes is not None
    assert runtime.tracemalloc_peak_bytes >= runtime.tracemalloc_current_bytes
    del held
