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
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from memwarden.leak.own import is_own_module

CHUNK_OBJECTS = 8192  # ~0.5 ms of counting between two ticks
CHUNK_ROWS = 2048  # types or (type, size) pairs added up between two ticks
SIZE_STRIDE = 8  # sizes from every 8th object, scaled to the type's exact count
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


def _count_sizes(sample: list[Any], sizes: Counter[tuple[type, int]]) -> None:
    """Add (type, size) pairs of the sample: counted in C, sizes per type are added up once
    at the end (a Python loop per object would cost more than all the rest)."""
    try:
        each = list(map(sys.getsizeof, sample, repeat(0)))
    except Exception:  # rare (a proxy in the sample): again, one guarded object at a time
        each = [_size(obj) for obj in sample]
    sizes.update(zip(map(type, sample), each, strict=True))


def count_types(objects: list[Any], tick: Callable[[], None]) -> list[TypeCount]:
    """Count objects per type (exact) and their bytes (from a 1-in-SIZE_STRIDE sample: sizing
    every object costs more than the rest of the census); tick() between chunks. objects is
    emptied as it is counted, from the end, so dropping a million references is sliced too."""
    counts: Counter[type] = Counter()
    sized: Counter[tuple[type, int]] = Counter()
    while objects:
        chunk = objects[-CHUNK_OBJECTS:]
        del objects[-CHUNK_OBJECTS:]
        counts.update(map(type, chunk))
        _count_sizes(chunk[::SIZE_STRIDE], sized)
        del chunk
        tick()
    sampled: dict[type, list[int]] = {}  # type -> [objects sized, their bytes]
    for done, ((tp, size), n) in enumerate(sized.items(), 1):
        entry = sampled.setdefault(tp, [0, 0])
        entry[0] += n
        entry[1] += size * n
        if done % CHUNK_ROWS == 0:  # lists and dicts come in thousands of sizes
            tick()
    rows = []
    for done, (tp, n) in enumerate(counts.items(), 1):
        if done % CHUNK_ROWS == 0:
            tick()
        if is_own_module(_module_of(tp)):
            continue
        seen, size = sampled.get(tp, (0, 0))
        mean = size / seen if seen else _basic_size(tp)
        rows.append(TypeCount(type_name(tp), n, int(mean * n)))
    return sorted(rows, key=lambda t: (-t.size_bytes, t.type))


def _basic_size(tp: type) -> int:
    return int(getattr(tp, "__basicsize__", 0)) + GC_HEADER_BYTES
