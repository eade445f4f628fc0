"""Attribution of a detected leak: census before/after, tracemalloc window, classification.

Synchronous pieces, so any driver can run them: the guardian's watch runs them in a worker
thread over a wall-clock window; the scenario bench runs them over simulated ticks.

The censuses are the owner walk alone (sliced: no pause over a slice) unless the type census
is asked for (types=True) or is the classification's only witness (no tracemalloc window).
A growing container names the leak and, from its newest items, the type it holds. When none
grew (objects only C code holds, or reachable from no module) and the window's Python growth
explains the RSS growth, or when nothing but the type census could classify it, finish()
leaves the type census due: it takes one now, and finish_types(), after a window as long as
tracemalloc's, takes the second and concludes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Any

from memwarden.leak.census import MIN_OWNER_GROWTH_BYTES, census_json, take_census
from memwarden.leak.classify import CENSUS, TRACED, Classification, Witness, classify_growth
from memwarden.leak.culprit import Culprit, find_culprit, held_type
from memwarden.leak.diff import Grower, diff_snapshots
from memwarden.leak.native import describe_native, mapping_growth, memray_command
from memwarden.leak.owners import latest_extension
from memwarden.leak.tracewindow import TraceWindow, WindowResult
from memwarden.leak.trend import Trend
from memwarden.readers.proc import read_mapping_rss, self_rss_bytes


def give_back() -> None:
    """After tracemalloc stops: its tables are freed, and malloc_trim returns the pages."""
    from memwarden.actions import malloc_trim

    malloc_trim()


def census_document(*, types: bool = True) -> dict[str, Any]:
    """A census in the snapshot's shape (what diff_snapshots reads); types=False: the owner
    walk alone."""
    census = take_census(types=types)
    document = census_json(census)
    document["time"] = census.time_s
    return document


def has_types(document: dict[str, Any] | None) -> bool:
    return bool(document and document.get("types"))


@dataclass(slots=True)
class _TypesDue:
    """finish()'s findings while the type census pair runs: its first census and the RSS
    after it, and what the classification will need."""

    document: dict[str, Any]
    rss_bytes: int | None
    rss_growth_bytes: int
    python_growth_bytes: int | None
    witnesses: list[Witness]
    heap_trend: Trend | None
    try_trim: bool


def type_bytes(document: dict[str, Any]) -> int | None:
    """All gc-tracked objects' bytes in a census document, None without a type census."""
    rows = document.get("types")
    return sum(int(row.get("size_bytes", 0)) for row in rows) if rows else None


def document_bytes(document: dict[str, Any]) -> int:
    """The dicts and lists a census document is made of: memwarden's own, but gc-tracked, so
    the next census counts them."""
    total, stack = 0, [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += sys.getsizeof(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            total += sys.getsizeof(item)
            stack.extend(item)
    return total


@dataclass(slots=True)
class Attribution:
    """begin() when a leak is detected, finish() after a window; then .growers, .window,
    .classification are filled in."""

    trace: bool = True
    types: bool = False  # the type census in both censuses, needed or not (asked for)
    before: dict[str, Any] | None = None
    growers: list[Grower] = field(default_factory=list)
    window: WindowResult | None = None
    classification: Classification | None = None
    culprit: Culprit | None = None
    _tracer: TraceWindow | None = None
    _rss_start: int | None = None
    _mappings_start: dict[str, int] = field(default_factory=dict)
    _python_growth: int | None = None  # kept when the window closed before finish()
    _window_rss_growth: int | None = None  # RSS growth over that window (its tables left out)
    _overhead_growth: int = 0
    _before_own_bytes: int = 0  # the baseline document's containers (counted by later censuses)
    _types_due: _TypesDue | None = None

    def begin(self, baseline: dict[str, Any] | None = None) -> None:
        """baseline: an earlier census (e.g. taken when the leak was first suspected) to diff
        against instead of one taken now."""
        # Without a window the type census's bytes are the classification's only witness.
        self.before = (baseline if baseline is not None
                       else census_document(types=self.types or not self.trace))
        self._before_own_bytes = document_bytes(self.before)
        self._rss_start = self_rss_bytes()
        self._mappings_start = read_mapping_rss()
        if self.trace:
            self._tracer = TraceWindow().start()

    def cancel(self) -> None:
        """Close the tracemalloc window without attributing (no verdict came)."""
        self._types_due = None
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
            self._window_rss_growth = self._rss_growth(self._overhead_growth)
            self.window = tracer.finish()
            give_back()

    def _rss_growth(self, overhead_bytes: int) -> int | None:
        """RSS growth since begin(), tracemalloc's own tables left out; None if unknown."""
        now = self_rss_bytes()
        return None if now is None or self._rss_start is None else (
            now - self._rss_start - overhead_bytes)

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    @property
    def types_due(self) -> bool:
        """finish() left the type census pair to conclude: call finish_types() after a
        window."""
        return self._types_due is not None

    def finish(
        self,
        *,
        heap_trend: Trend | None = None,
        expected_growth_bytes: int | None = None,
        try_trim: bool = True,
    ) -> None:
        """expected_growth_bytes: the RSS growth the trend predicts since begin(). Better
        than the measured RSS growth, which tracemalloc's tables inflate."""
        # RSS and traced growth are read before the 'after' census: its memory is memwarden's.
        tracer, self._tracer = self._tracer, None
        python_growth, window_rss = self._python_growth, self._window_rss_growth
        overhead = self._overhead_growth
        if tracer is not None:
            python_growth = tracer.traced_growth_bytes()
            overhead = tracer.overhead_growth_bytes()
        measured = self._rss_growth(overhead)
        if tracer is not None:
            # Stopped (and its pages given back) before the census, which takes several times
            # longer while every allocation is traced, and before a trim that would count the
            # freed tables as memory the allocator retained.
            self.window = tracer.finish()
            give_back()
        with_types = has_types(self.before)
        after = census_document(types=with_types)
        if self.before is not None:
            self.growers = diff_snapshots(self.before, after, top=10)
        # RSS unknown at either end: no growth to classify rather than a made-up one.
        rss_growth = measured or 0
        if expected_growth_bytes is not None:
            # The smaller of the two: the window's RSS growth still carries some of
            # tracemalloc's costs; the trend's prediction ignores that tracing slows the app.
            rss_growth = (min(rss_growth, expected_growth_bytes) if rss_growth > 0
                          else expected_growth_bytes)
        witnesses = []
        if python_growth is not None:
            # Over the window's own period (it may have closed early), corrected as above.
            scale = min(1.0, rss_growth / measured) if measured and measured > 0 else 1.0
            closed_early = tracer is None and window_rss is not None
            window = int(window_rss * scale) if closed_early and window_rss else rss_growth
            witnesses.append(Witness(TRACED, python_growth, window))
        census_growth = self._census_growth(after)
        if census_growth is not None:
            witnesses.append(Witness(CENSUS, census_growth, rss_growth))
        if not with_types and (not witnesses or (
                self.top_owner() is None and any(w.explains() for w in witnesses))):
            # Python objects grew and no container names them, or nothing else can tell:
            # only a type census pair can.
            document = census_document(types=True)
            self._types_due = _TypesDue(document, self_rss_bytes(), rss_growth, python_growth,
                                        witnesses, heap_trend, try_trim)
            return
        self._conclude(rss_growth, python_growth, witnesses, heap_trend, try_trim)

    def finish_types(self) -> None:
        """The second census of the type census pair finish() left due: the growing types,
        their bytes as a witness over the pair's own period, then the culprit."""
        due, self._types_due = self._types_due, None
        if due is None:
            return
        rss_now = self_rss_bytes()
        after = census_document(types=True)
        types = [g for g in diff_snapshots(due.document, after, top=10) if g.kind == "type"]
        self.growers = [g for g in self.growers if g.kind != "type"] + types
        before_bytes, after_bytes = type_bytes(due.document), type_bytes(after)
        witnesses = list(due.witnesses)
        if before_bytes is not None and after_bytes is not None:
            rss = None if rss_now is None or due.rss_bytes is None else rss_now - due.rss_bytes
            # The first document is this attribution's, held: the second census counts it.
            own = document_bytes(due.document)
            witnesses.append(Witness(CENSUS, after_bytes - before_bytes - own, rss))
        self._conclude(due.rss_growth_bytes, due.python_growth_bytes, witnesses,
                       due.heap_trend, due.try_trim)

    def _conclude(self, rss_growth: int, python_growth: int | None, witnesses: list[Witness],
                  heap_trend: Trend | None, try_trim: bool) -> None:
        self.classification = classify_growth(
            rss_growth_bytes=rss_growth,
            python_growth_bytes=python_growth,
            heap_trend=heap_trend,
            try_trim=try_trim,
            witnesses=witnesses,
        )
        modules_before = list((self.before or {}).get("modules") or [])
        owner = self.top_owner()
        held = held_type(owner) if not any(g.kind == "type" for g in self.growers) else None
        self.culprit = find_culprit(
            self.growers + ([held] if held is not None else []),
            self.window.sites if self.window else [],
            owner_growth=owner, modules_before=modules_before,
        )
        kind = self.classification.kind
        if kind in ("native", "allocator_retention"):
            growth = mapping_growth(self._mappings_start, read_mapping_rss())
            self.culprit = replace(self.culprit, native=describe_native(
                kind, growth, latest_extension(modules_before), memray_command()))

    def _census_growth(self, after: dict[str, Any]) -> int | None:
        """gc-tracked bytes grown between the two censuses, the baseline document left out."""
        before_bytes = None if self.before is None else type_bytes(self.before)
        after_bytes = type_bytes(after)
        if before_bytes is None or after_bytes is None:
            return None
        return after_bytes - before_bytes - self._before_own_bytes

    @property
    def found_growth(self) -> bool:
        """finish() named something that grew (an owner, a type, a site, native memory)."""
        c = self.culprit
        return c is not None and (c.named or c.growing_type is not None or c.site is not None
                                  or c.native is not None)

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
