"""Load a JSONL trace (memwarden.trace/1) into per-program series and a list of events.

Tolerant by design: unknown keys are ignored, non-numeric figures become None (unknown,
never 0), a torn last line is skipped, and records may arrive out of order (a second
`monitor --out` run appends to the same file). A supervisor trace carries `program` (or a
`source` such as "supervisor:web") per record: each program gets its own series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memwarden.errors import MemwardenError
from memwarden.trace import read_trace

TRACE_SCHEMA_PREFIX = "memwarden.trace/"
# Byte figures drawn or summarised; the rest of a sample record is ignored here.
FIGURES = (
    "measured_bytes",
    "tree_rss_bytes",
    "working_set_bytes",
    "py_traced_bytes",
    "limit_bytes",
    "oom_kill_events",
)
THRESHOLD_TIERS = ("warn", "critical", "restart")


class ReportInputError(MemwardenError):
    """A trace or snapshot the report cannot use; the CLI exits with EXIT_USAGE."""


@dataclass(slots=True)
class Series:
    """One program's samples, sorted by time; every list is aligned with `times_s`."""

    name: str  # "" for a single-process trace
    times_s: list[float] = field(default_factory=list)
    figures: dict[str, list[int | None]] = field(
        default_factory=lambda: {key: [] for key in FIGURES}
    )
    thresholds: dict[str, list[int | None]] = field(
        default_factory=lambda: {tier: [] for tier in THRESHOLD_TIERS}
    )
    tiers: list[str | None] = field(default_factory=list)
    metric: str | None = None  # which figure `measured_bytes` is (last seen)
    limit_source: str | None = None

    def known(self, key: str) -> list[tuple[float, int]]:
        """(time, value) pairs of a figure where it is known."""
        values = self.figures[key] if key in self.figures else self.thresholds[key]
        return [(t, v) for t, v in zip(self.times_s, values, strict=True) if v is not None]

    def last(self, key: str) -> int | None:
        values = self.figures[key] if key in self.figures else self.thresholds[key]
        return next((v for v in reversed(values) if v is not None), None)


@dataclass(frozen=True, slots=True)
class TraceEvent:
    time_s: float
    kind: str
    message: str
    tier: str | None
    source: str
    program: str  # "" when the event is not tied to one program
    figures: dict[str, Any]


@dataclass(slots=True)
class Trace:
    path: Path
    header: dict[str, Any]
    series: list[Series]
    events: list[TraceEvent]

    @property
    def start_s(self) -> float:
        return min(s.times_s[0] for s in self.series)

    @property
    def end_s(self) -> float:
        return max(s.times_s[-1] for s in self.series)

    @property
    def sample_count(self) -> int:
        return sum(len(s.times_s) for s in self.series)


def load_trace(path: Path) -> Trace:
    if not path.exists():
        raise ReportInputError(f"{path}: no such file")
    if not path.is_file():
        raise ReportInputError(f"{path}: not a file")
    header: dict[str, Any] = {}
    samples: dict[str, _Columns] = {}
    events: list[TraceEvent] = []
    saw_record = False
    try:
        for record in read_trace(path):
            kind = record.get("type")
            if kind == "header" and not header:
                header = record
            elif kind == "sample" and _number(record.get("t")) is not None:
                program = _program_of(record)
                columns = samples.get(program)
                if columns is None:
                    columns = samples[program] = _Columns(program)
                columns.add(record)
            elif kind == "event" and _number(record.get("t")) is not None:
                events.append(_event(record))
            else:
                continue
            saw_record = True
    except UnicodeDecodeError:
        raise ReportInputError(f"{path}: not a memwarden trace (not UTF-8 text)") from None
    except OSError as err:
        raise ReportInputError(f"{path}: cannot read ({err.strerror})") from err
    schema = header.get("schema")
    if header and not (isinstance(schema, str) and schema.startswith(TRACE_SCHEMA_PREFIX)):
        raise ReportInputError(f"{path}: unsupported trace schema {schema!r}")
    if not saw_record:
        raise ReportInputError(
            f"{path}: not a memwarden trace (no {TRACE_SCHEMA_PREFIX}1 header, samples or events)"
        )
    if not samples:
        raise ReportInputError(f"{path}: the trace has no samples; nothing to draw")
    series = [columns.finish() for _, columns in sorted(samples.items())]
    events.sort(key=lambda e: e.time_s)
    return Trace(path=path, header=header, series=series, events=events)


def _program_of(record: dict[str, Any]) -> str:
    program = record.get("program")
    if isinstance(program, str):
        return program
    source = record.get("source")
    if isinstance(source, str) and source.startswith("supervisor:"):
        return source.partition(":")[2]
    return ""


def _number(value: object) -> float | None:
    # bool is an int subclass; `true` is not a figure. NaN/inf would poison every scale.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _bytes(value: object) -> int | None:
    # Exact type checks, common case first (this runs ~10 times per sample); a bool is not
    # a figure, and NaN/inf would poison every scale.
    if type(value) is int:
        return value
    if type(value) is float:
        return int(value) if math.isfinite(value) else None
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class _Columns:
    """One program's samples as columns, filled while the file streams by: a day at 100 ms
    is 864,000 records, and keeping the parsed dicts would cost about a gigabyte."""

    def __init__(self, name: str) -> None:
        self.series = Series(name=name)
        self._last_int: dict[str, int | None] = {}
        self._last_text: dict[str, str | None] = {}
        self._sorted = True

    def _int(self, key: str, value: int | None) -> int | None:
        # A figure that repeats (the limit, a threshold, a flat series) shares one int object.
        last = self._last_int.get(key)
        if value is not None and value == last:
            return last
        self._last_int[key] = value
        return value

    def _text(self, key: str, value: object) -> str | None:
        text = _text(value)
        last = self._last_text.get(key)
        if text is not None and text == last:
            return last
        self._last_text[key] = text
        return text

    def add(self, record: dict[str, Any]) -> None:
        series = self.series
        time_s = float(record["t"])
        if series.times_s and time_s < series.times_s[-1]:
            self._sorted = False  # e.g. a second `monitor --out` run appended to the file
        series.times_s.append(time_s)
        for key in FIGURES:
            series.figures[key].append(self._int(key, _bytes(record.get(key))))
        levels = record.get("thresholds_bytes")
        levels = levels if isinstance(levels, dict) else {}
        for tier in THRESHOLD_TIERS:
            series.thresholds[tier].append(self._int(tier, _bytes(levels.get(tier))))
        series.tiers.append(self._text("tier", record.get("tier")))
        series.metric = self._text("metric", record.get("metric")) or series.metric
        series.limit_source = (
            self._text("limit_source", record.get("limit_source")) or series.limit_source
        )

    def finish(self) -> Series:
        series = self.series
        if not self._sorted:
            order = sorted(range(len(series.times_s)), key=series.times_s.__getitem__)
            series.times_s = [series.times_s[i] for i in order]
            series.tiers = [series.tiers[i] for i in order]
            for columns in (series.figures, series.thresholds):
                for key, values in columns.items():
                    columns[key] = [values[i] for i in order]
        return series


# Traces written before state events had their own kinds said `action` with this step.
STATE_STEPS = frozenset({"state_saved", "state_restored"})


def _event(record: dict[str, Any]) -> TraceEvent:
    figures = record.get("figures")
    kind = _text(record.get("kind")) or "event"
    if kind == "action" and isinstance(figures, dict) and figures.get("step") in STATE_STEPS:
        kind = str(figures["step"])
    return TraceEvent(
        time_s=float(record["t"]),
        kind=kind,
        message=_text(record.get("message")) or "",
        tier=_text(record.get("tier")),
        source=_text(record.get("source")) or "",
        program=_program_of(record),
        figures=figures if isinstance(figures, dict) else {},
    )
