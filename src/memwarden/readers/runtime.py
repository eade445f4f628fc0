"""The Python runtime of this process (in-process only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuntimeMemory:
    gc_counts: tuple[int, int, int]  # gc.get_count(): allocations pending per generation
    gc_collections: tuple[int, int, int]  # collections so far per generation (gc.get_stats)
    gc_collected_objects: int  # objects collected so far, all generations
    allocated_blocks: int  # sys.getallocatedblocks()
    tracemalloc_current_bytes: int | None  # None when tracemalloc is not tracing
    tracemalloc_peak_bytes: int | None


def read_runtime() -> RuntimeMemory:
    raise NotImplementedError
