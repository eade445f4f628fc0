"""The culprit of a leak in one line: who holds it, what grows, where it is allocated.

    culprit: logging.getLogger('app').handlers holds logging.StreamHandler (+1,200 objects,
    +1.1 MiB in 30 s); allocated at app/views.py:41 (2 call paths)

From a census diff (growing owners and types) and a tracemalloc window (sites): the growing
type is the largest grower that is not a plain builtin container (a handler, an iterator, a
C-extension mapping) when one grew about as much as the top row, its newest instances are
traced back to a module (memwarden.leak.owners), and the growing owner container of the
census stands in when no type points anywhere.
"""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from typing import Any

from memwarden.leak.diff import Grower
from memwarden.leak.owners import OwnerPath, find_owner, latest_extension
from memwarden.leak.tracewindow import SiteGrowth
from memwarden.units import format_bytes

GENERIC_TYPES = frozenset({"dict", "list", "tuple", "set", "frozenset", "cell", "function",
                           "method", "builtin_function_or_method", "weakref", "type",
                           "code", "frame", "property", "getset_descriptor",
                           "weakref.ReferenceType", "_thread.RLock", "_thread.lock",
                           "collections.deque", "_io.StringIO"})
TYPE_SHARE = 0.2  # a specific type counts if it grew by this share of the top type's objects
MIN_TYPE_OBJECTS = 500  # fewer new objects of a type only count with enough bytes
TARGETS = 8  # newest instances traced back


@dataclass(frozen=True, slots=True)
class Culprit:
    owner: OwnerPath | None
    owner_growth: Grower | None  # the census' growing container, when it names one
    growing_type: Grower | None
    site: SiteGrowth | None
    native: str | None = None  # the native diagnosis, when Python objects do not explain it

    def line(self) -> str:
        if self.native is not None:
            return self.native
        kind = None
        if self.growing_type is not None:
            t = self.growing_type
            kind = (f"{t.name} ({t.delta_items:+,} objects, "
                    f"+{format_bytes(max(0, t.delta_bytes))})")
        parts = []
        if self.owner is not None and not self.owner.held_by_c:
            parts.append(f"{self.owner.path} holds {kind}" if kind else self.owner.path)
        else:
            if self.owner is not None:
                parts.append(self.owner.describe())
            elif self.owner_growth is not None:
                parts.append(self.owner_growth.describe())
            if kind:
                parts.append(f"growing type {kind}")
        if self.site is not None:
            paths = f", {self.site.paths} call paths" if self.site.paths > 1 else ""
            parts.append(f"allocated at {self.site.site} (+{format_bytes(self.site.size_bytes)}"
                         f"{paths})")
        return "; ".join(parts) or "no Python object, container or allocation site grew"

    @property
    def named(self) -> bool:
        return self.owner is not None or self.owner_growth is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line(),
            "owner_path": self.owner.path if self.owner and not self.owner.held_by_c else None,
            "held_by_c": bool(self.owner and self.owner.held_by_c),
            "module": self.owner.module if self.owner else None,
            "growing_type": self.growing_type.name if self.growing_type else None,
            "site": self.site.site if self.site else None,
            "site_paths": self.site.paths if self.site else None,
            "native": self.native,
        }


def from_diff(growers: list[Grower]) -> Culprit:
    """Offline (two snapshot files, no heap to search): the growing owner, the growing type
    and the top allocation site, with its call paths merged."""
    owners = [g for g in growers if g.kind == "owner" and g.delta_items > 0]
    sites = [SiteGrowth(g.name, g.delta_bytes, g.delta_items, g.traceback, g.paths)
             for g in growers if g.kind == "site" and g.delta_bytes > 0]
    owner = owners[0] if owners else None
    evidence = max(owner.delta_bytes if owner else 0, sites[0].size_bytes if sites else 0)
    return Culprit(None, owner, growing_type(growers, evidence), sites[0] if sites else None)


def held_type(owner: Grower | None) -> Grower | None:
    """What a growing container holds, as a type census row: as many new objects as it has
    new items, of the type its newest items are, each of their size. No type census (its
    unsliced gc.get_objects() call) is needed for a leak a container names."""
    if owner is None or not owner.item_type or owner.delta_items <= 0:
        return None
    return Grower("type", owner.item_type, owner.item_type, 0, owner.delta_items, 0,
                  owner.delta_items * owner.item_bytes, owner.over_s)


def growing_type(growers: list[Grower], evidence_bytes: int = 0) -> Grower | None:
    """The type that explains the growth: enough objects (or bytes, against the growth seen
    by the owner census and tracemalloc) to be more than a lazy import's few new objects."""
    types = [g for g in growers if g.kind == "type" and g.delta_items > 0 and (
        g.delta_items >= MIN_TYPE_OBJECTS or g.delta_bytes >= TYPE_SHARE * evidence_bytes)]
    if not types:
        return None
    top = max(g.delta_items for g in types)
    specific = [g for g in types
                if g.name not in GENERIC_TYPES and g.delta_items >= TYPE_SHARE * top]
    # A class written in Python (a handler, a session) says more than the C-level objects
    # it brings along (its locks, weak references, buffers).
    specific.sort(key=lambda g: not _python_class(g.name))
    return specific[0] if specific else types[0]


def _python_class(name: str) -> bool:
    module = name.rpartition(".")[0]
    where = getattr(sys.modules.get(module), "__file__", None) or ""
    return where.endswith(".py")


def newest_instances(type_name: str, limit: int = TARGETS) -> list[Any]:
    """Up to limit gc-tracked objects of that type, youngest first: youngest generation first,
    and within one the latest added (gc appends), so a long-lived instance of the same type
    (a root logger's handler beside the leaking ones) is not the one traced back."""
    found: list[Any] = []
    for generation in (0, 1, 2):
        objects = gc.get_objects(generation)
        for obj in reversed(objects):
            if _name(type(obj)) == type_name:
                found.append(obj)
                if len(found) >= limit:
                    break
        del objects
        if len(found) >= limit:
            break
    return found


def _name(tp: type) -> str:
    from memwarden.leak.typecount import type_name

    return type_name(tp)


def find_culprit(growers: list[Grower], sites: list[SiteGrowth], *,
                 owner_growth: Grower | None, modules_before: list[str]) -> Culprit:
    """owner_growth: the census' top growing container, if any. A specific growing type is
    traced back to its holder; a plain dict or list only when no container was named."""
    site = sites[0] if sites else None
    evidence = max(owner_growth.delta_bytes if owner_growth else 0,
                   site.size_bytes if site else 0)
    kind = growing_type(growers, evidence)
    if kind is None or (kind.name in GENERIC_TYPES and owner_growth is not None):
        return Culprit(None, owner_growth, kind, site)
    targets = newest_instances(kind.name)
    owner = find_owner(targets, extension_hint=latest_extension(modules_before))
    del targets
    return Culprit(owner, owner_growth if owner is None else None, kind, site)
