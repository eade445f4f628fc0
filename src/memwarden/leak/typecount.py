"""The type census: objects and shallow bytes per type over gc.get_objects().

Counted in chunks so the caller can yield the GIL between them (the one pause left is the
gc.get_objects() call itself). Counts are exact (collections.Counter over type(), in C).
Bytes come from `sys.getsizeof` of every SIZE_STRIDE-th object, scaled to the type's count:
sizing each object would cost more than all the rest. A proxy object (werkzeug's LocalProxy
forwards `__sizeof__`) can make getsizeof raise: its sample is then sized object by object.
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


def _sample_sizes(sample: list[Any], sizes: dict[type, list[int]]) -> None:
    local: dict[type, list[int]] = {}
    try:
        for tp, size in zip(map(type, sample), map(sys.getsizeof, sample, repeat(0)),
                            strict=True):
            entry = local.get(tp)
            if entry is None:
                local[tp] = [1, size]
            else:
                entry[0] += 1
                entry[1] += size
    except Exception:  # rare (a proxy in the sample): again, one guarded object at a time
        local.clear()
        for obj in sample:
            entry = local.setdefault(type(obj), [0, 0])
            entry[0] += 1
            entry[1] += _size(obj)
    for tp, (seen, size) in local.items():
        total = sizes.setdefault(tp, [0, 0])
        total[0] += seen
        total[1] += size


def count_types(objects: list[Any], tick: Callable[[], None]) -> list[TypeCount]:
    """Count objects per type (exact) and their bytes (from a 1-in-SIZE_STRIDE sample: sizing
    every object costs more than the rest of the census); tick() between chunks."""
    counts: Counter[type] = Counter()
    sampled: dict[type, list[int]] = {}  # type -> [objects sized, their bytes]
    for start in range(0, len(objects), CHUNK_OBJECTS):
        chunk = objects[start:start + CHUNK_OBJECTS]
        counts.update(map(type, chunk))
        _sample_sizes(chunk[::SIZE_STRIDE], sampled)
        tick()
    rows = []
    for tp, n in counts.items():
        if is_own_module(_module_of(tp)):
            continue
        seen, size = sampled.get(tp, (0, 0))
        mean = size / seen if seen else _basic_size(tp)
        rows.append(TypeCount(type_name(tp), n, int(mean * n)))
    return sorted(rows, key=lambda t: (-t.size_bytes, t.type))


def _basic_size(tp: type) -> int:
    return int(getattr(tp, "__basicsize__", 0)) + GC_HEADER_BYTES
