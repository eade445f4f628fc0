"""Classify memory growth: Python objects (a code leak) or RSS only (allocator or native).

The evidence, best first: Python allocations traced by a tracemalloc window over the same
period as the RSS growth; the Python heap series (sys.getallocatedblocks, which sees only
pymalloc's small blocks) rising with the RSS. When the Python side does not explain the growth,
malloc_trim(0) is tried: if it gives the memory back, glibc's arenas were retaining freed memory
(MALLOC_ARENA_MAX=2 helps); if not, something native holds it (memray run --native finds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from memwarden.leak.trend import Trend
from memwarden.readers.proc import self_rss_bytes
from memwarden.units import format_bytes

GrowthKind = Literal["python_heap", "allocator_retention", "native", "unknown"]
PYTHON_SHARE = 0.5  # Python allocations explaining at least this share of RSS growth
TRIM_SHARE = 0.5  # malloc_trim giving back at least this share: allocator retention


@dataclass(frozen=True, slots=True)
class Classification:
    kind: GrowthKind
    rss_growth_bytes: int | None
    python_growth_bytes: int | None  # traced by tracemalloc over the same period, if known
    heap_rising: bool | None  # the Python heap series' own trend; None when not measured
    malloc_trim_result: int | None  # 1 released memory, 0 nothing to release, None not tried
    trim_freed_bytes: int | None  # RSS before minus after the trim
    advice: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def classify_growth(
    *,
    rss_growth_bytes: int | None,
    python_growth_bytes: int | None = None,
    heap_trend: Trend | None = None,
    try_trim: bool = True,
) -> Classification:
    """In-process only (malloc_trim acts on this process)."""
    heap_rising = None if heap_trend is None else heap_trend.leaking
    explained = (
        python_growth_bytes is not None
        and rss_growth_bytes is not None
        and rss_growth_bytes > 0
        and python_growth_bytes >= PYTHON_SHARE * rss_growth_bytes
    )
    if explained or (python_growth_bytes is None and heap_rising):
        # Not "X of Y": the traced growth may exceed RSS's (freed pages reused, a window
        # longer than the RSS interval), and "38 MiB of 19 MiB" reads as nonsense.
        share = (f"traced Python allocations grew {format_bytes(python_growth_bytes)} while "
                 f"RSS grew {format_bytes(rss_growth_bytes)}" if explained
                 else "the Python heap rises with RSS")
        return Classification(
            "python_heap", rss_growth_bytes, python_growth_bytes, heap_rising, None, None,
            f"Python objects grow ({share}): look at the top owner paths and allocation "
            "sites; bound or evict that container.",
        )
    trim_result: int | None = None
    freed: int | None = None
    if try_trim:
        from memwarden.actions import gave_back, malloc_trim

        before = self_rss_bytes()
        trim_result = malloc_trim()
        after = self_rss_bytes()
        if trim_result is not None and before is not None and after is not None:
            freed = before - after
    tried = (f"malloc_trim(0) returned {trim_result}, {gave_back(freed)}"
             if trim_result is not None else "malloc_trim is not available (not glibc)")
    if rss_growth_bytes is None or rss_growth_bytes <= 0:
        return Classification("unknown", rss_growth_bytes, python_growth_bytes, heap_rising,
                              trim_result, freed, f"no RSS growth to classify; {tried}")
    if freed is not None and freed >= TRIM_SHARE * rss_growth_bytes:
        return Classification(
            "allocator_retention", rss_growth_bytes, python_growth_bytes, heap_rising,
            trim_result, freed,
            f"RSS grew but Python objects did not; {tried}: glibc arenas retain freed memory. "
            "Set MALLOC_ARENA_MAX=2 (fewer per-thread arenas) or let memwarden trim under "
            "pressure.",
        )
    return Classification(
        "native", rss_growth_bytes, python_growth_bytes, heap_rising, trim_result, freed,
        f"RSS grew by {format_bytes(rss_growth_bytes)} but Python objects did not; {tried}: "
        "a C extension or library holds it. Find it with `memray run --native`.",
    )
