"""Heap snapshots (memwarden.snapshot/1) for the top-growers table.

With two or more snapshots the first and the last are diffed by memwarden.leak.diff; with one,
the table shows what is largest. Growth needs the leak package: without it the page says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memwarden.report import fmt
from memwarden.report.model import ReportInputError

SNAPSHOT_SCHEMA = "memwarden.snapshot/1"
TOP_ROWS = 15
SECTIONS = (("containers", "owner"), ("types", "type"), ("tracemalloc", "site"))
_SECTION_OF_KIND = {"owner": "containers", "type": "types", "site": "tracemalloc"}


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    time_s: float | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    name: str  # owner path, type name or allocation site
    kind: str  # the container's type; "" for types and sites
    size_bytes: int | None
    count: int | None  # items in a container, objects of a type, blocks at a site
    delta_size_bytes: int | None = None  # None when there is nothing to compare with
    delta_count: int | None = None
    detail: str = ""  # a short traceback for allocation sites


@dataclass(frozen=True, slots=True)
class Growers:
    title: str  # what the numbers mean: growth between two snapshots, or largest in one
    note: str  # why growth is missing, or ""
    sections: dict[str, list[Row]]  # "containers" | "types" | "tracemalloc" -> rows


def load_snapshot(path: Path) -> Snapshot:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReportInputError(f"{path}: not a memwarden snapshot (not JSON)") from None
    except OSError as err:
        raise ReportInputError(f"{path}: cannot read ({err.strerror})") from err
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != SNAPSHOT_SCHEMA:
        raise ReportInputError(
            f"{path}: not a memwarden snapshot (schema {schema!r}, expected {SNAPSHOT_SCHEMA!r})"
        )
    return Snapshot(path=path, time_s=_number(data.get("time")), data=data)


def growers(snapshots: list[Snapshot]) -> Growers | None:
    if not snapshots:
        return None
    ordered = sorted(snapshots, key=lambda s: s.time_s if s.time_s is not None else -math.inf)
    latest = ordered[-1]
    largest = Growers(
        title="Largest in the latest snapshot",
        note="",
        sections={name: _largest(latest.data.get(name), key) for name, key in SECTIONS},
    )
    if len(ordered) == 1:
        return largest
    try:
        from memwarden.leak.diff import diff_snapshots
    except ImportError:
        return Growers(largest.title, "growth unavailable: memwarden.leak.diff is not installed",
                       largest.sections)
    first = ordered[0]
    try:
        diff = diff_snapshots(first.data, latest.data)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        # The schema matched but a row does not (a hand-edited or truncated file).
        raise ReportInputError(
            f"{first.path} / {latest.path}: malformed snapshot rows ({err})"
        ) from err
    over = ""
    if first.time_s is not None and latest.time_s is not None:
        over = f" over {fmt.relative(latest.time_s - first.time_s, plus=False)}"
    sections: dict[str, list[Row]] = {name: [] for name, _ in SECTIONS}
    for grower in diff:
        section = _SECTION_OF_KIND.get(grower.kind)
        if section is None or len(sections[section]) >= TOP_ROWS:
            continue
        sections[section].append(Row(
            name=grower.name,
            kind=grower.type if grower.kind == "owner" else "",
            size_bytes=grower.after_bytes,
            count=grower.after_items,
            delta_size_bytes=grower.delta_bytes,
            delta_count=grower.delta_items,
            detail="\n".join(grower.traceback[-6:]),
        ))
    return Growers(
        title=f"Growth from {first.path.name} to {latest.path.name}{over}, largest first",
        note="" if any(sections.values()) else "nothing grew between the snapshots",
        sections=sections,
    )


def _largest(entries: object, key: str) -> list[Row]:
    if not isinstance(entries, list):
        return []
    rows = [
        Row(
            name=str(entry.get(key, "?")),
            kind=str(entry.get("type", "")) if key == "owner" else "",
            size_bytes=_int(entry.get("size_bytes")),
            count=_int(entry.get("items" if key == "owner" else "count")),
            detail=_traceback(entry.get("traceback")),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]
    rows.sort(key=lambda r: r.size_bytes or 0, reverse=True)
    return rows[:TOP_ROWS]


def _traceback(frames: object) -> str:
    if not isinstance(frames, list):
        return ""
    return "\n".join(str(frame) for frame in frames[:6])


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
