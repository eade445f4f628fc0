"""Attribution of a detected leak: census before/after, tracemalloc window, classification.

Synchronous pieces, so any driver can run them: the guardian's watch runs them in a worker
thread over a wall-clock window; the scenario bench runs them over simulated ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from memwarden.leak.census import census_json, take_census
from memwarden.leak.classify import Classification, classify_growth
from memwarden.leak.culprit import Culprit, find_culprit
from memwarden.leak.diff import Grower, diff_snapshots
from memwarden.leak.native import describe_native, mapping_growth, memray_command
from memwarden.leak.owners import latest_extension
from memwarden.leak.tracewindow import TraceWindow, WindowResult
from memwarden.leak.trend import Trend
from memwarden.readers.proc import read_mapping_rss, self_rss_bytes

MIN_OWNER_GROWTH_BYTES = 256 * 1024


def give_back() -> None:
    """After tracemalloc stops: its tables are freed, and malloc_trim returns the pages."""
    from memwarden.actions import malloc_trim

    malloc_trim()


def census_document() -> dict[str, Any]:
    """A census in the snapshot's shape (what diff_snapshots reads)."""
    census = take_census()
    document = census_json(census)
    document["time"] = census.time_s
    return document


@dataclass(slots=True)
class Attribution:
    """begin() when a leak is detected, finish() after a window; then .growers, .window,
    .classification are filled in."""

    trace: bool = True
    before: dict[str, Any] | None = None
    growers: list[Grower] = field(default_factory=list)
    window: WindowResult | None = None
    classification: Classification | None = None
    culprit: Culprit | None = None
    _tracer: TraceWindow | None = None
    _rss_start: int | None = None
    _mappings_start: dict[str, int] = field(default_factory=dict)
    _python_growth: int | None = None  # kept when the window closed before finish()
    _overhead_growth: int = 0

    def begin(self, baseline: dict[str, Any] | None = None) -> None:
        """baseline: an earlier census (e.g. taken when the leak was first suspected) to diff
        against instead of one taken now."""
        self.before = baseline if baseline is not None else census_document()
        self._rss_start = self_rss_bytes()
        self._mappings_start = read_mapping_rss()
        if self.trace:
            self._tracer = TraceWindow().start()

    def cancel(self) -> None:
        """Close the tracemalloc window without attributing (no verdict came)."""
        tracer, self._tracer = self._tracer, None
        if tracer is not None:
            tracer.finish()
            give_back()

    def close_window(self) -> None:
        """End the tracemalloc window now (its memory budget is spent), keeping its sites and
        growth for finish()."""
        tracer, self._tracer = self._tracer, None
        if tracer is not None:
            self._python_growth = tracer.traced_growth_bytes()
            self._overhead_growth = tracer.overhead_growth_bytes()
            self.window = tracer.finish()
            give_back()

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    def finish(
        self,
        *,
        heap_trend: Trend | None = None,
        expected_growth_bytes: int | None = None,
        try_trim: bool = True,
    ) -> None:
        """expected_growth_bytes: the RSS growth the trend predicts over the window. Better
        than the window's own RSS growth, which tracemalloc's tables inflate."""
        after = census_document()
        if self.before is not None:
            self.growers = diff_snapshots(self.before, after, top=10)
        tracer, self._tracer = self._tracer, None
        rss_now = self_rss_bytes()
        # RSS unknown at either end: no growth to classify rather than a made-up one.
        rss_growth = 0 if rss_now is None or self._rss_start is None else rss_now - self._rss_start
        python_growth = self._python_growth
        rss_growth -= self._overhead_growth
        if tracer is not None:
            python_growth = tracer.traced_growth_bytes()
            rss_growth -= tracer.overhead_growth_bytes()
        if expected_growth_bytes is not None:
            # The smaller of the two: the window's RSS growth still carries some of
            # tracemalloc's costs; the trend's prediction ignores that tracing slows the app.
            rss_growth = (min(rss_growth, expected_growth_bytes) if rss_growth > 0
                          else expected_growth_bytes)
        # Classify (and malloc_trim) while tracemalloc still runs: stopping it frees its tables,
        # which a trim would then count as retained memory given back.
        self.classification = classify_growth(
            rss_growth_bytes=rss_growth,
            python_growth_bytes=python_growth,
            heap_trend=heap_trend,
            try_trim=try_trim,
        )
        if tracer is not None:
            self.window = tracer.finish()
            give_back()
        modules_before = list((self.before or {}).get("modules") or [])
        self.culprit = find_culprit(
            self.growers, self.window.sites if self.window else [],
            owner_growth=self.top_owner(), modules_before=modules_before,
        )
        kind = self.classification.kind
        if kind in ("native", "allocator_retention"):
            growth = mapping_growth(self._mappings_start, read_mapping_rss())
            self.culprit = replace(self.culprit, native=describe_native(
                kind, growth, latest_extension(modules_before), memray_command()))

    def top_owner(self) -> Grower | None:
        """The owner that grew most, if it grew enough to matter (not a lazy import's dict)."""
        owners = [g for g in self.growers if g.kind == "owner" and g.delta_items > 0
                  and g.delta_bytes >= MIN_OWNER_GROWTH_BYTES]
        return owners[0] if owners else None

    def top_site(self) -> str | None:
        return self.window.sites[0].site if self.window and self.window.sites else None

    def figures(self) -> dict[str, Any]:
        owner = self.top_owner()
        c = self.classification
        culprit = self.culprit.to_json() if self.culprit else {}
        return {
            "culprit": culprit.get("line"),
            "owner_path": culprit.get("owner_path"),
            "held_by_c": culprit.get("held_by_c"),
            "growing_type": culprit.get("growing_type"),
            "top_owner": owner.name if owner else None,
            "top_owner_growth": owner.describe() if owner else None,
            "growers": [g.describe() for g in self.growers[:5]],
            "top_site": self.top_site(),
            "top_sites": [s.to_json() for s in self.window.sites[:3]] if self.window else [],
            "classification": c.kind if c else None,
            "advice": c.advice if c else None,
            "malloc_trim_result": c.malloc_trim_result if c else None,
            "trim_freed_bytes": c.trim_freed_bytes if c else None,
        }
