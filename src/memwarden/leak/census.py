"""Census of the heap: counts per type, and containers named by an owner path.

Owner paths come from a walk that starts at the modules: module globals, class attributes of
classes defined there, attributes of instances reached that way (two levels), and entries of
small dicts. E.g. `myapp.sync:SyncService.processed_records` (a class attribute) or
`myapp.sync:service.processed_records` (an attribute of the module-global instance).

The census must not stall the service: all Python-level work runs in slices of at most
`slice_s` and then yields the GIL (`time.sleep(0)`). The only pause that cannot be sliced is
the single `gc.get_objects()` call of the type census (C code, ~12 ms per million tracked
objects here; a full gc.collect() of the same heap takes ~90 ms). Pass types=False to skip it.
"""

from __future__ import annotations

import collections
import functools
import gc
import itertools
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CONTAINER_TYPES = (dict, list, set, frozenset, collections.deque, bytearray)
MAX_ATTRIBUTE_DEPTH = 2  # module global -> instance -> instance -> container
MAX_DICT_FANOUT = 64  # descend into entries of dicts this small (registries of lists)
SAMPLE_ITEMS = 16  # items sized per container for the shallow estimate
SKIP_MODULE_PREFIXES = ("memwarden.leak",)  # our own history must not top the growers
LRU_ENTRY_BYTES = 160  # a link list [prev, next, key, result] + its dict slot, keys excluded
LRU_CACHE_TYPE = type(functools.lru_cache(maxsize=None)(lambda: None))
NOT_INSTANCES = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                 types.MethodType, LRU_CACHE_TYPE, property, classmethod, staticmethod)


@dataclass(frozen=True, slots=True)
class Container:
    owner: str  # "module:global.attr" or "module:Class.attr"
    type: str  # "set", "dict", "list", "deque", "bytearray", "lru_cache", "Cls.__dict__"
    items: int
    size_bytes: int  # sys.getsizeof of the container + items estimated from a sample

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "type": self.type, "items": self.items,
                "size_bytes": self.size_bytes}


@dataclass(frozen=True, slots=True)
class TypeCount:
    type: str
    count: int
    size_bytes: int  # sum of sys.getsizeof (shallow)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "count": self.count, "size_bytes": self.size_bytes}


@dataclass(slots=True)
class Census:
    time_s: float
    containers: list[Container] = field(default_factory=list)
    types: list[TypeCount] = field(default_factory=list)
    tracked_objects: int = 0
    duration_s: float = 0.0  # wall time from start to end, yields included
    busy_s: float = 0.0  # time holding the GIL (the cost)
    max_pause_s: float = 0.0  # longest slice without yielding
    get_objects_s: float = 0.0  # the one unsliced call (0 when types=False)
    slices: int = 0
    slice_pauses_s: list[float] = field(default_factory=list)  # each slice's GIL-holding time


def type_name(tp: type) -> str:
    module = getattr(tp, "__module__", "builtins")
    return tp.__qualname__ if module == "builtins" else f"{module}.{tp.__qualname__}"


def _item_size(item: Any) -> int:
    """An item and, for an instance, its attribute dict (what a list of handlers really holds)."""
    size = sys.getsizeof(item)
    attributes = getattr(item, "__dict__", None)
    if isinstance(attributes, dict) and not isinstance(item, NOT_INSTANCES):
        size += sys.getsizeof(attributes)
    return int(size)


def shallow_size(obj: Any) -> int:
    """getsizeof(obj) + len × the mean getsizeof of a few items (keys and values for dicts)."""
    try:
        size = sys.getsizeof(obj)
        count = len(obj)
    except TypeError:
        return sys.getsizeof(obj, 0)
    if count == 0 or isinstance(obj, bytearray):
        return int(size)
    try:  # another thread may resize it under us: the estimate is then left out
        if isinstance(obj, dict):
            sample = list(itertools.islice(obj.items(), SAMPLE_ITEMS))
            each = sum(sys.getsizeof(k) + _item_size(v) for k, v in sample) / len(sample)
        else:
            sample = list(itertools.islice(iter(obj), SAMPLE_ITEMS))
            each = sum(_item_size(x) for x in sample) / len(sample)
    except (RuntimeError, ZeroDivisionError):
        return int(size)
    return int(size + each * count)


def _is_instance(value: Any) -> bool:
    return hasattr(value, "__dict__") and not isinstance(value, NOT_INSTANCES)


def _worth_visiting(value: Any, depth: int, module_name: str) -> bool:
    if isinstance(value, (*CONTAINER_TYPES, LRU_CACHE_TYPE)):
        return True
    if isinstance(value, type):
        return depth == 0 and getattr(value, "__module__", None) == module_name
    return depth < MAX_ATTRIBUTE_DEPTH and _is_instance(value)


def _walk(modules: list[tuple[str, Any]]) -> Iterator[Container | None]:
    """Containers reachable from the modules, breadth first: the shortest owner path names an
    object (a module global before an attribute of another module's object). Yields None
    now and then so the caller can time its slices."""
    queue: collections.deque[tuple[str, str, Any, int]] = collections.deque()
    for module_name, module in modules:
        try:
            names = list(vars(module).items())
        except TypeError:
            continue
        queue.extend((module_name, f"{module_name}:{name}", value, 0) for name, value in names
                     if not name.startswith("__"))
    seen: set[int] = set()
    while queue:
        module_name, owner, value, depth = queue.popleft()
        yield None
        if id(value) in seen or not _worth_visiting(value, depth, module_name):
            continue
        seen.add(id(value))

        if isinstance(value, CONTAINER_TYPES):
            items = len(value)
            yield Container(owner, type(value).__name__, items, shallow_size(value))
            if isinstance(value, dict) and 0 < items <= MAX_DICT_FANOUT and depth < 3:
                try:
                    entries = list(value.items())
                except RuntimeError:
                    continue
                queue.extend(
                    (module_name, f"{owner}[{key!r}]", entry, depth + 1) for key, entry in entries
                    if isinstance(entry, CONTAINER_TYPES) or _is_instance(entry)
                )
        elif isinstance(value, LRU_CACHE_TYPE):
            # functools.lru_cache keeps its dict in C, out of reach: estimate per entry.
            size = int(value.cache_info().currsize)
            yield Container(owner, "lru_cache", size, size * LRU_ENTRY_BYTES)
        elif isinstance(value, type):
            if getattr(value, "__module__", None) != module_name or depth > 0:
                continue
            queue.extend(
                (module_name, f"{owner}.{attr}", item, depth + 1)
                for attr, item in list(vars(value).items()) if not attr.startswith("__")
            )
        elif _is_instance(value) and depth < MAX_ATTRIBUTE_DEPTH:
            attributes = vars(value)
            yield Container(owner, f"{type(value).__qualname__}.__dict__", len(attributes),
                            sys.getsizeof(attributes))
            queue.extend((module_name, f"{owner}.{attr}", item, depth + 1)
                         for attr, item in list(attributes.items()))


class Slicer:
    """Runs Python work in slices of at most slice_s, yielding the GIL in between."""

    def __init__(self, slice_s: float) -> None:
        self.slice_s = slice_s
        self.busy_s = 0.0
        self.max_pause_s = 0.0
        self.slices = 0
        self.pauses_s: list[float] = []
        self._start = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        if now - self._start >= self.slice_s:
            self._end_slice(now)
            time.sleep(0)  # drops the GIL: request threads run
            self._start = time.perf_counter()

    def _end_slice(self, now: float) -> None:
        pause = now - self._start
        self.busy_s += pause
        self.max_pause_s = max(self.max_pause_s, pause)
        self.slices += 1
        self.pauses_s.append(pause)

    def finish(self) -> None:
        self._end_slice(time.perf_counter())


def take_census(*, types: bool = True, slice_s: float = 0.002) -> Census:
    """One census. Call from any thread; it yields the GIL every slice_s."""
    started = time.perf_counter()
    census = Census(time_s=time.time())
    slicer = Slicer(slice_s)
    modules = [(name, module) for name, module in sorted(list(sys.modules.items()))
               if module is not None and not name.startswith(SKIP_MODULE_PREFIXES)]
    for found in _walk(modules):
        if found is not None:
            census.containers.append(found)
        slicer.tick()
    if types:
        slicer.finish()
        time.sleep(0)  # yield before the one unsliced call, so pauses do not add up
        before = time.perf_counter()
        objects = gc.get_objects()
        census.get_objects_s = time.perf_counter() - before
        slicer = _count_types(objects, census, slicer)
        del objects
    slicer.finish()
    census.busy_s = slicer.busy_s + census.get_objects_s
    census.max_pause_s = max(slicer.max_pause_s, census.get_objects_s)
    census.slices = slicer.slices
    census.slice_pauses_s = slicer.pauses_s
    census.duration_s = time.perf_counter() - started
    return census


def _count_types(objects: list[Any], census: Census, slicer: Slicer) -> Slicer:
    resumed = Slicer(slicer.slice_s)
    resumed.busy_s, resumed.max_pause_s, resumed.slices, resumed.pauses_s = (
        slicer.busy_s, slicer.max_pause_s, slicer.slices, slicer.pauses_s)
    counts: dict[type, list[int]] = {}
    getsizeof = sys.getsizeof
    for start in range(0, len(objects), 512):
        for obj in objects[start:start + 512]:
            entry = counts.get(type(obj))
            if entry is None:
                counts[type(obj)] = entry = [0, 0]
            entry[0] += 1
            entry[1] += getsizeof(obj, 0)
        resumed.tick()
    census.tracked_objects = len(objects)
    census.types = sorted(
        (TypeCount(type_name(tp), c, s) for tp, (c, s) in counts.items()),
        key=lambda t: (-t.size_bytes, t.type),
    )
    return resumed


def census_json(census: Census, *, top_containers: int = 1000) -> dict[str, Any]:
    """The snapshot's census part: the largest containers and every type."""
    largest = sorted(census.containers, key=lambda c: (-c.size_bytes, -c.items, c.owner))
    return {
        "types": [t.to_json() for t in census.types],
        "containers": [c.to_json() for c in largest[:top_containers]],
        "census": {
            "tracked_objects": census.tracked_objects,
            "duration_s": round(census.duration_s, 6),
            "busy_s": round(census.busy_s, 6),
            "max_pause_s": round(census.max_pause_s, 6),
            "get_objects_s": round(census.get_objects_s, 6),
            "slices": census.slices,
        },
    }
