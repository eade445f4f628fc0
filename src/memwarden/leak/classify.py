"""Classify memory growth: Python objects (a code leak) or RSS only (allocator or native).

Which mapping grew says little: pymalloc's arenas are anonymous mappings too, so a Python leak
grows "[anon]" just as a native one does. The evidence is Python-visible growth set against
the RSS growth of the same period, each witness over its own period: the Python allocations
traced by a tracemalloc window (str and bytes included), and the type census's bytes
(gc-tracked objects). One witness explaining half of its period's RSS growth is enough; a
churning cache's allocations are freed as fast as they are made and explain nothing. Without
any witness, the Python heap series (sys.getallocatedblocks) rising with the RSS stands in.
When the Python side does not explain the growth, malloc_trim(0) is tried: if it gives the
memory back, glibc's arenas were retaining freed memory (MALLOC_ARENA_MAX=2 helps); if not,
something native holds it (memray run --native finds it).
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
MIN_EXPLAINING_BYTES = 256 * 1024  # less Python growth explains nothing (noise, a lazy import)
TRACED = "traced Python allocations"
CENSUS = "gc-tracked objects"


@dataclass(frozen=True, slots=True)
class Witness:
    """Python-visible growth and the RSS growth over the same period."""

    name: str  # TRACED, CENSUS
    python_bytes: int
    rss_bytes: int | None  # None: RSS was not measured over this period

    def explains(self) -> bool:
        rss = max(0, self.rss_bytes or 0)
        return self.python_bytes >= max(MIN_EXPLAINING_BYTES, PYTHON_SHARE * rss)

    def describe(self) -> str:
        rss = "" if self.rss_bytes is None else f" while RSS grew {format_bytes(self.rss_bytes)}"
        return f"{self.name} grew {format_bytes(self.python_bytes)}{rss}"


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
    witnesses: list[Witness] | None = None,
) -> Classification:
    """In-process only (malloc_trim acts on this process). python_growth_bytes: traced by
    tracemalloc over the period of rss_growth_bytes, the one witness unless `witnesses` (each
    with the RSS growth of its own period) are given."""
    heap_rising = None if heap_trend is None else heap_trend.leaking
    seen = list(witnesses) if witnesses is not None else (
        [Witness(TRACED, python_growth_bytes, rss_growth_bytes)]
        if python_growth_bytes is not None else [])
    explained = next((w for w in seen if w.explains()), None)
    if explained is not None or (not seen and heap_rising):
        # Not "X of Y": the traced growth may exceed RSS's (freed pages reused, a window
        # longer than the RSS interval), and "38 MiB of 19 MiB" reads as nonsense.
        share = (explained.describe() if explained is not None
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
        f"RSS grew by {format_bytes(rss_growth_bytes)} but Python objects did not"
        f"{_seen(seen)}; {tried}: "
        "a C extension or library holds it. Find it with `memray run --native`.",
    )


def _seen(witnesses: list[Witness]) -> str:
    return f" ({', '.join(w.describe() for w in witnesses)})" if witnesses else ""
