"""Diff two snapshots (or two censuses as snapshot dicts): what grew, ranked.

Owner paths come first (they name the bug), then types, then allocation sites; within each
kind, by bytes grown, then items grown. Only growth is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from memwarden.leak.own import is_own_module, is_own_traceback, site_filename
from memwarden.units import format_bytes

GrowerKind = Literal["owner", "type", "site"]


@dataclass(frozen=True, slots=True)
class Grower:
    kind: GrowerKind
    name: str  # owner path, type name, or "file:line"
    type: str  # container type for owners; the type itself; "" for sites
    before_items: int
    after_items: int
    before_bytes: int
    after_bytes: int
    over_s: float  # time between the two snapshots
    traceback: tuple[str, ...] = ()  # sites only: the largest call path
    paths: int = 1  # sites only: call paths reaching the line, merged into this row
    item_type: str = ""  # owners only: what the container's newest items are
    item_bytes: int = 0  # owners only: sys.getsizeof of one of them

    @property
    def delta_items(self) -> int:
        return self.after_items - self.before_items

    @property
    def delta_bytes(self) -> int:
        return self.after_bytes - self.before_bytes

    def describe(self) -> str:
        """`myapp.sync:SyncService.processed_records (set) +2,010,334 items, +181 MB in 40 min`"""
        what = f"{self.name} ({self.type})" if self.type and self.kind == "owner" else self.name
        unit = "objects" if self.kind == "type" else "items" if self.kind == "owner" else "blocks"
        sign = "+" if self.delta_bytes >= 0 else "-"
        paths = f" from {self.paths} call paths" if self.paths > 1 else ""
        return (f"{what} {self.delta_items:+,} {unit}, {sign}{format_bytes(abs(self.delta_bytes))}"
                f" in {_duration(self.over_s)}{paths}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "type": self.type,
            "before_items": self.before_items, "after_items": self.after_items,
            "delta_items": self.delta_items, "before_bytes": self.before_bytes,
            "after_bytes": self.after_bytes, "delta_bytes": self.delta_bytes,
            "over_s": self.over_s, "traceback": list(self.traceback), "paths": self.paths,
            "item_type": self.item_type, "item_bytes": self.item_bytes,
        }


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(slots=True)
class _Row:
    type: str
    items: int
    size_bytes: int
    traceback: tuple[str, ...]
    paths: int
    largest_bytes: int
    item_type: str = ""
    item_bytes: int = 0


def _index(rows: Any, key: str, items_key: str) -> dict[str, _Row]:
    """Rows by name; rows with the same name (one line reached from several call paths)
    add up instead of the later one replacing the earlier."""
    out: dict[str, _Row] = {}
    for row in rows or ():
        name = str(row[key])
        size = int(row.get("size_bytes", 0))
        items = int(row.get(items_key, 0))
        traceback = tuple(row.get("traceback", ()))
        known = out.get(name)
        if known is None:
            out[name] = _Row(str(row.get("type", "")), items, size, traceback, 1, size,
                             str(row.get("item_type") or ""), int(row.get("item_bytes") or 0))
            continue
        known.items += items
        known.size_bytes += size
        known.paths += 1
        if size > known.largest_bytes:
            known.traceback, known.largest_bytes = traceback, size
    return out


def _ours(kind: str, name: str, row: _Row, before_modules: set[str]) -> bool:
    """memwarden's own rows, and containers of a module imported after the first snapshot
    (a lazy import's globals are new, not growing)."""
    if kind == "site":
        return is_own_traceback(list(row.traceback) or [site_filename(name)])
    if kind == "type":
        return is_own_module(name.rpartition(".")[0])
    module = name.partition(":")[0]
    return is_own_module(module) or (bool(before_modules) and module not in before_modules)


def diff_snapshots(
    a: Mapping[str, Any], b: Mapping[str, Any], *, top: int | None = None
) -> list[Grower]:
    """Growers from snapshot a to snapshot b: owners, then types, then sites; `top` per kind."""
    over_s = float(b.get("time", 0.0)) - float(a.get("time", 0.0))
    result: list[Grower] = []
    specs: tuple[tuple[GrowerKind, str, str, str], ...] = (
        ("owner", "containers", "owner", "items"),
        ("type", "types", "type", "count"),
        ("site", "tracemalloc", "site", "count"),
    )
    for kind, section, key, items_key in specs:
        before = _index(a.get(section), key, items_key)
        after = _index(b.get(section), key, items_key)
        modules = set(a.get("modules") or {n.partition(":")[0] for n in before})
        growers = []
        for name, row in after.items():
            old = before.get(name)
            old_items, old_size = (old.items, old.size_bytes) if old else (0, 0)
            if (row.items > old_items or row.size_bytes > old_size) and not _ours(
                    kind, name, row, modules):
                growers.append(Grower(kind, name, row.type if kind != "type" else name,
                                      old_items, row.items, old_size, row.size_bytes, over_s,
                                      row.traceback, row.paths, row.item_type, row.item_bytes))
        growers.sort(key=lambda g: (-g.delta_bytes, -g.delta_items, g.name))
        result.extend(growers[:top] if top is not None else growers)
    return result


def format_growers(growers: list[Grower]) -> str:
    lines = []
    current = ""
    titles = {"owner": "Growing containers (owner path)", "type": "Growing types",
              "site": "Growing allocation sites (tracemalloc)"}
    for grower in growers:
        if grower.kind != current:
            current = grower.kind
            lines.append(titles[current] + ":")
        lines.append(f"  {grower.describe()}")
        for frame in grower.traceback[-3:] if grower.kind == "site" else ():
            lines.append(f"      {frame}")
    if not lines:
        return "no growth between the two snapshots"
    from memwarden.leak.culprit import from_diff

    return "\n".join([f"Likely culprit: {from_diff(growers).line()}", *lines])
