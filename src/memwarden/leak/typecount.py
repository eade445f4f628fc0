"""The type census: objects and shallow bytes per type over gc.get_objects().

Counted in chunks so the caller can yield the GIL between them (the one pause left is the
gc.get_objects() call itself). Counts are exact (collections.Counter over type(), in C).
Bytes come from `sys.getsizeof` of every SIZE_STRIDE-th object, scaled to the type's count:
sizing each object would cost more than all the rest. The sample is counted as (type, size)
pairs in C too; a type of fixed size gets its exact bytes, a variable one (dict, list) a mean.
A proxy object (werkzeug's LocalProxy forwards `__sizeof__`) can make getsizeof raise: its
sample is then sized object by object.
memwarden's own types are left out, so its bookkeeping never shows as growth.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from memwarden.leak.own import is_own_module

CHUNK_OBJECTS = 8192  # ~0.5 ms of counting between two ticks
CHUNK_ROWS = 2048  # types or (type, size) pairs added up between two ticks
LARGE_BYTES = 16 * 1024  # an object this large is sized on its own, never scaled
SIZE_STRIDE = 16  # sizes from every 16th object, scaled to the type's exact count
PHASE_STEP = 5  # the sample's offset moves by this from chunk to chunk (prime to the stride)
GC_HEADER_BYTES = 16  # what sys.getsizeof adds to a gc-tracked object on 64-bit CPython


@dataclass(frozen=True, slots=True)
class TypeCount:
    type: str
    count: int
    size_bytes: int  # sum of sys.getsizeof (shallow)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "count": self.count, "size_bytes": self.size_bytes}


def type_name(tp: type) -> str:
    module = _module_of(tp)
    return tp.__qualname__ if module == "builtins" else f"{module}.{tp.__qualname__}"


def _module_of(tp: type) -> str:
    try:
        module = type.__getattribute__(tp, "__module__")
    except Exception:  # a metaclass computing __module__ can raise
        return "?"
    return module if isinstance(module, str) else "?"


def _size(obj: Any) -> int:
    try:
        return int(sys.getsizeof(obj, 0))
    except Exception:  # a __sizeof__ that raises: the object's header is still there
        return int(object.__sizeof__(obj))


@dataclass(slots=True)
class _Sizes:
    """Bytes per type from the sample, large objects apart. Scaled like the rest, one 4 MiB
    dict in the sample would add 28 MiB that is not there, and the next census, sampling
    other objects, would lose it again: the totals of two censuses of the same heap were
    tens of MiB apart. A large object counts once, at its size: exactly for those the owner
    walk sized (known), as seen for the others the sample meets."""

    known: dict[int, tuple[type, int]]  # id -> (type, size): large objects sized elsewhere
    small: Counter[tuple[type, int]] = field(default_factory=Counter)
    large_count: Counter[type] = field(default_factory=Counter)
    large_bytes: Counter[type] = field(default_factory=Counter)

    def add(self, sample: list[Any]) -> None:
        """(type, size) pairs counted in C: a Python loop per object would cost more than
        all the rest of the census."""
        try:
            each = list(map(sys.getsizeof, sample, repeat(0)))
        except Exception:  # rare (a proxy in the sample): one guarded object at a time
            each = [_size(obj) for obj in sample]
        if not each or max(each) <= LARGE_BYTES:
            self.small.update(zip(map(type, sample), each, strict=True))
            return
        for obj, size in zip(sample, each, strict=True):
            if size <= LARGE_BYTES:
                self.small[type(obj), size] += 1
            elif id(obj) not in self.known:
                self.large_count[type(obj)] += 1
                self.large_bytes[type(obj)] += size

    def totals(self, counts: Counter[type], tick: Callable[[], None]) -> dict[type, int]:
        for tp, size in self.known.values():
            self.large_count[tp] += 1
            self.large_bytes[tp] += size
        sampled: dict[type, list[int]] = {}  # type -> [objects sized, their bytes]
        for done, ((tp, size), n) in enumerate(self.small.items(), 1):
            entry = sampled.setdefault(tp, [0, 0])
            entry[0] += n
            entry[1] += size * n
            if done % CHUNK_ROWS == 0:  # lists and dicts come in thousands of sizes
                tick()
        totals = {}
        for done, (tp, n) in enumerate(counts.items(), 1):
            if done % CHUNK_ROWS == 0:
                tick()
            seen, size = sampled.get(tp, (0, 0))
            mean = size / seen if seen else _basic_size(tp)
            rest = max(0, n - self.large_count[tp])
            totals[tp] = int(mean * rest) + self.large_bytes[tp]
        return totals


def count_types(objects: list[Any], tick: Callable[[], None],
                large: dict[int, tuple[type, int]] | None = None) -> list[TypeCount]:
    """Count objects per type (exact) and their bytes (from a 1-in-SIZE_STRIDE sample: sizing
    every object costs more than the rest of the census); tick() between chunks. objects is
    emptied as it is counted, from the end, so dropping a million references is sliced too.
    large: id -> (type, size) of gc-tracked objects over LARGE_BYTES already sized."""
    counts: Counter[type] = Counter()
    sizes = _Sizes(large or {})
    phase = 0
    while objects:
        chunk = objects[-CHUNK_OBJECTS:]
        del objects[-CHUNK_OBJECTS:]
        counts.update(map(type, chunk))
        # Each chunk sampled from another offset: objects made in a loop repeat with a
        # period (a record, its list, its dict), which a fixed stride would always hit alike.
        phase = (phase + PHASE_STEP) % SIZE_STRIDE
        sizes.add(chunk[phase::SIZE_STRIDE])
        del chunk
        tick()
    totals = sizes.totals(counts, tick)
    rows = []
    for done, (tp, n) in enumerate(counts.items(), 1):
        if done % CHUNK_ROWS == 0:
            tick()
        if not is_own_module(_module_of(tp)):
            rows.append(TypeCount(type_name(tp), n, totals[tp]))
    return sorted(rows, key=lambda t: (-t.size_bytes, t.type))


def _basic_size(tp: type) -> int:
    return int(getattr(tp, "__basicsize__", 0)) + GC_HEADER_BYTES
