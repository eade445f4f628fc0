"""The Python runtime of this process (in-process only)."""

from __future__ import annotations

# _tracemalloc, the C half of tracemalloc: the module `tracemalloc` also imports pickle & co.
# (~1 MB of RSS in the lean supervisor) and these two calls are all a reading needs.
import _tracemalloc
import gc
import sys

from memwarden.record import record


@record
class RuntimeMemory:
    gc_counts: tuple[int, int, int]  # gc.get_count(): allocations pending per generation
    gc_collections: tuple[int, int, int]  # collections so far per generation (gc.get_stats)
    gc_collected_objects: int  # objects collected so far, all generations
    allocated_blocks: int  # sys.getallocatedblocks()
    tracemalloc_current_bytes: int | None  # None when tracemalloc is not tracing
    tracemalloc_peak_bytes: int | None


def read_runtime() -> RuntimeMemory:
    """Cheap counters only: never gc.get_objects() (it walks the whole heap)."""
    count0, count1, count2 = gc.get_count()
    stats = gc.get_stats()
    collections = tuple(int(stats[g]["collections"]) if g < len(stats) else 0 for g in range(3))
    current: int | None = None
    peak: int | None = None
    if _tracemalloc.is_tracing():
        current, peak = _tracemalloc.get_traced_memory()
    return RuntimeMemory(
        gc_counts=(count0, count1, count2),
        gc_collections=(collections[0], collections[1], collections[2]),
        gc_collected_objects=sum(int(s["collected"]) for s in stats),
        allocated_blocks=sys.getallocatedblocks(),
        tracemalloc_current_bytes=current,
        tracemalloc_peak_bytes=peak,
    )
