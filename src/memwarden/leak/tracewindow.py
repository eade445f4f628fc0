"""A bounded tracemalloc window: switch it on when a leak is suspected, diff, switch it off.

tracemalloc costs ~5× on allocation-heavy code at nframe=1 (more with deeper tracebacks), so it
is never left on: the window is bounded by its caller, and stopped only if we started it.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

from memwarden.leak.own import is_own_traceback

DEFAULT_NFRAME = 5


@dataclass(frozen=True, slots=True)
class SiteGrowth:
    site: str  # "file:line" of the most recent frame
    size_bytes: int  # traced bytes grown at this site during the window
    count: int  # blocks grown
    traceback: tuple[str, ...]  # oldest first, most recent last (the largest call path)
    paths: int = 1  # call paths that reach this line, merged

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "size_bytes": self.size_bytes, "count": self.count,
                "traceback": list(self.traceback), "paths": self.paths}


@dataclass(frozen=True, slots=True)
class WindowResult:
    duration_s: float
    traced_growth_bytes: int  # all traced Python allocations, end minus start of the window
    overhead_growth_bytes: int  # tracemalloc's own memory grew this much (it counts in RSS)
    sites: list[SiteGrowth]


def _ours(traceback: tracemalloc.Traceback) -> bool:
    """memwarden's own work or lazy imports. Checked on grouped statistics, not per trace:
    tracemalloc's Filter runs fnmatch on every trace (slow)."""
    return is_own_traceback([frame.filename for frame in traceback])


class TraceWindow:
    """start() ... finish(): top growing allocation sites in between."""

    def __init__(self, nframe: int = DEFAULT_NFRAME) -> None:
        self.nframe = nframe
        self.owned = False  # True when this window started tracemalloc (and so stops it)
        self._first: tracemalloc.Snapshot | None = None
        self._started_s = 0.0
        self._traced_start = 0
        self._overhead_start = 0

    @property
    def active(self) -> bool:
        return self._first is not None

    def start(self) -> TraceWindow:
        if self._first is not None:
            return self
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.nframe)
            self.owned = True
        self._started_s = time.monotonic()
        self._traced_start = tracemalloc.get_traced_memory()[0]
        self._overhead_start = tracemalloc.get_tracemalloc_memory()
        self._first = tracemalloc.take_snapshot()
        return self

    def traced_growth_bytes(self) -> int:
        """Python allocations traced since start() (net), while the window is still open."""
        return tracemalloc.get_traced_memory()[0] - self._traced_start if self.active else 0

    def overhead_growth_bytes(self) -> int:
        """tracemalloc's own memory grown since start() (it shows in RSS, it is not the leak)."""
        return tracemalloc.get_tracemalloc_memory() - self._overhead_start if self.active else 0

    def finish(self, top: int = 10) -> WindowResult:
        first = self._first
        if first is None:
            raise RuntimeError("TraceWindow.finish() before start()")
        try:
            second = tracemalloc.take_snapshot()
            traced_growth = tracemalloc.get_traced_memory()[0] - self._traced_start
            overhead_growth = tracemalloc.get_tracemalloc_memory() - self._overhead_start
        finally:
            self._first = None
            if self.owned:
                tracemalloc.stop()
                self.owned = False
        sites = _grown_sites(first, second)
        if sites is None:  # no raw traces (another Python): tracemalloc's own, slower diff
            stats = [s for s in second.compare_to(first, "traceback")
                     if s.size_diff > 0 and not _ours(s.traceback)]
            sites = merge_paths(stats)
        return WindowResult(time.monotonic() - self._started_s, traced_growth, overhead_growth,
                            sites[:top])


def _groups(snapshot: tracemalloc.Snapshot) -> dict[Any, list[int]] | None:
    """Bytes and blocks per raw traceback (a tuple of (file, line), innermost first), counted
    on the snapshot's raw traces: Snapshot.compare_to builds a Traceback object per trace and
    took 3 s for 600,000 traces, this takes a tenth of it."""
    raw = getattr(snapshot.traces, "_traces", None)
    if not isinstance(raw, list):
        return None
    groups: dict[Any, list[int]] = {}
    for trace in raw:  # (domain, size, frames, total_nframe)
        entry = groups.get(trace[2])
        if entry is None:
            groups[trace[2]] = [trace[1], 1]
        else:
            entry[0] += trace[1]
            entry[1] += 1
    return groups


def _grown_sites(first: tracemalloc.Snapshot, second: tracemalloc.Snapshot
                 ) -> list[SiteGrowth] | None:
    before, after = _groups(first), _groups(second)
    if before is None or after is None:
        return None
    by_site: dict[str, SiteGrowth] = {}
    for frames, (size, count) in after.items():
        old_size, old_count = before.get(frames, (0, 0))
        grown = size - old_size
        if grown <= 0 or not frames:
            continue
        path = tuple(f"{name}:{line}" for name, line in reversed(frames))  # oldest first
        if is_own_traceback([name for name, _ in reversed(frames)]):
            continue
        known = by_site.get(path[-1])
        if known is None:
            by_site[path[-1]] = SiteGrowth(path[-1], grown, count - old_count, path)
        else:
            bigger = path if grown > known.size_bytes else known.traceback
            by_site[path[-1]] = SiteGrowth(path[-1], known.size_bytes + grown,
                                           known.count + count - old_count, bigger,
                                           known.paths + 1)
    return sorted(by_site.values(), key=lambda site: -site.size_bytes)


def merge_paths(stats: list[tracemalloc.StatisticDiff]) -> list[SiteGrowth]:
    """One row per allocating line: a line reached from two call paths adds up (the largest
    path is kept as the example)."""
    by_site: dict[str, SiteGrowth] = {}
    for stat in sorted(stats, key=lambda s: -s.size_diff):
        site = _frame(stat.traceback[-1])
        known = by_site.get(site)
        if known is None:
            by_site[site] = SiteGrowth(site, stat.size_diff, stat.count_diff,
                                       tuple(_frame(f) for f in stat.traceback))
        else:
            by_site[site] = SiteGrowth(site, known.size_bytes + stat.size_diff,
                                       known.count + stat.count_diff, known.traceback,
                                       known.paths + 1)
    return sorted(by_site.values(), key=lambda s: -s.size_bytes)


def _frame(frame: tracemalloc.Frame) -> str:
    return f"{frame.filename}:{frame.lineno}"
