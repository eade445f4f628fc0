"""Census of the heap: counts per type, and containers named by an owner path.

Owner paths come from a walk that starts at the modules: module globals, class attributes of
classes defined there, attributes of instances reached that way (two levels), and entries of
small dicts. E.g. `myapp.sync:SyncService.processed_records` (a class attribute) or
`myapp.sync:service.processed_records` (an attribute of the module-global instance).

The census must not stall the service: all Python-level work runs in slices of at most
`slice_s` and then yields the GIL (`time.sleep(0)`), each slice a bounded amount of work (one
module, a batch of names, one container, a chunk of objects). The only pause that cannot be
sliced is the single `gc.get_objects()` call of the type census (C code, ~24 ms CPU per
million tracked objects here; CPython's own full collection of the same heap ~200 ms). A
walk of the reachable heap could be sliced, but costs ~10x the CPU and never reaches what
only C code holds (bench/leak_bench.py census measures it). Pass types=False to skip it: the
leak watch does, unless no growing container names the leak (memwarden.leak.attribute); each
container it names carries the type of its newest items instead (memwarden.leak.items).

Every decision about a visited object is made on `type(obj)`, never on the object: a proxy
(Flask's `request`, werkzeug's LocalProxy) raises on isinstance() or getattr() outside its
context. An object that still raises is skipped. memwarden's own modules are not walked.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import itertools
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from memwarden.leak.items import held_items
from memwarden.leak.own import is_own_module
from memwarden.leak.typecount import LARGE_BYTES, TypeCount, count_types

CONTAINER_TYPES = (dict, list, set, frozenset, collections.deque, bytearray)
EXACT_CONTAINERS = frozenset({dict, list, set, frozenset, collections.deque})
MAX_ATTRIBUTE_DEPTH = 2  # module global -> instance -> instance -> container
MAX_DICT_FANOUT = 64  # descend into entries of dicts this small (registries of lists)
# A container must grow by this much to name a leak: what smaller ones hold is not looked at.
MIN_OWNER_GROWTH_BYTES = 256 * 1024
KEY_CHARS = 60  # a dict key in an owner path is cut to this
ENQUEUE_BATCH = 2048  # names read between two yields (~0.5 ms)
SAMPLE_ITEMS = 16  # items sized per container for the shallow estimate
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
    item_type: str = ""  # what its newest items are (memwarden.leak.items), "" if unknown
    item_bytes: int = 0  # sys.getsizeof of one of them

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "type": self.type, "items": self.items,
                "size_bytes": self.size_bytes, "item_type": self.item_type,
                "item_bytes": self.item_bytes}


@dataclass(slots=True)
class Census:
    time_s: float
    containers: list[Container] = field(default_factory=list)
    types: list[TypeCount] = field(default_factory=list)
    tracked_objects: int = 0
    duration_s: float = 0.0  # wall time from start to end, yields included
    busy_s: float = 0.0  # time holding the GIL (the cost)
    max_pause_s: float = 0.0  # longest slice without yielding
    max_pause_cpu_s: float = 0.0  # CPU time of the longest slice (the OS's share left out)
    get_objects_s: float = 0.0  # the one unsliced call (0 when types=False)
    slices: int = 0
    slice_pauses_s: list[float] = field(default_factory=list)  # each slice's GIL-holding time
    # The modules there were, in import order: a later diff tells a lazy import's new globals
    # from growth, and the last extension loaded is a suspect for memory held from C.
    modules: list[str] = field(default_factory=list)


def instance_dict(value: Any) -> dict[str, Any] | None:
    """An instance's attribute dict, found through its type only: a proxy (werkzeug's
    LocalProxy, Flask's `request`) raises on any attribute access outside its context, and
    isinstance()/getattr() on it would reach that code."""
    tp = type(value)
    if not tp.__dictoffset__ or issubclass(tp, NOT_INSTANCES):
        return None
    try:
        attributes = object.__getattribute__(value, "__dict__")
    except Exception:  # a __dict__ descriptor of the proxy's own: not ours to call
        return None
    return attributes if type(attributes) is dict else None


def _item_size(item: Any) -> int:
    """An item and, for an instance, its attribute dict (what a list of handlers really holds)."""
    size = sys.getsizeof(item)
    attributes = instance_dict(item)
    if attributes is not None:
        size += sys.getsizeof(attributes)
    return int(size)


def shallow_size(obj: Any) -> int:
    """getsizeof(obj) + len × the mean getsizeof of a few items (keys and values for dicts)."""
    try:
        size = sys.getsizeof(obj)
        count = len(obj)
    except Exception:  # an object whose __len__/__sizeof__ raises: its header only
        return int(object.__sizeof__(obj))
    if count == 0 or isinstance(obj, bytearray):
        return int(size)
    try:  # another thread may resize it under us: the estimate is then left out
        if isinstance(obj, dict):
            sample = list(itertools.islice(obj.items(), SAMPLE_ITEMS))
            each = sum(sys.getsizeof(k) + _item_size(v) for k, v in sample) / len(sample)
        else:
            sample = list(itertools.islice(iter(obj), SAMPLE_ITEMS))
            each = sum(_item_size(x) for x in sample) / len(sample)
    except Exception:  # resized under us, or an item whose __sizeof__ raises
        return int(size)
    return int(size + each * count)


def key_text(key: Any) -> str:
    """A dict key as it reads in source, cut short: keys can be long, or anything at all."""
    if type(key) not in (str, int, bytes, float, bool, tuple):
        return f"<{type(key).__name__}>"
    text = repr(key)
    return text if len(text) <= KEY_CHARS else text[:KEY_CHARS - 3] + "..."


def _is_instance(value: Any) -> bool:
    tp = type(value)
    return bool(tp.__dictoffset__) and not issubclass(tp, NOT_INSTANCES)


def _defined_in(cls: type, module_name: str) -> bool:
    try:
        return bool(type.__getattribute__(cls, "__module__") == module_name)
    except Exception:  # a metaclass that computes __module__ and fails
        return False


SKIP, CONTAINER, CLASS, INSTANCE = range(4)
# What each type met is, for the census under way (a census meets the same few hundred types
# tens of thousands of times); emptied when it ends, so no type is kept alive by it.
_kinds: dict[type, int] = {}


def _kind(tp: type) -> int:
    kind = _kinds.get(tp)
    if kind is None:
        if issubclass(tp, (*CONTAINER_TYPES, LRU_CACHE_TYPE)):
            kind = CONTAINER
        elif issubclass(tp, type):
            kind = CLASS
        else:
            kind = INSTANCE if tp.__dictoffset__ and not issubclass(tp, NOT_INSTANCES) else SKIP
        _kinds[tp] = kind
    return kind


def _worth_visiting(value: Any, depth: int, module_name: str) -> bool:
    # Decided on type(value) alone: isinstance() would ask a proxy for its __class__.
    kind = _kind(type(value))
    if kind == CONTAINER:
        return True
    if kind == CLASS:
        return depth == 0 and _defined_in(value, module_name)
    return kind == INSTANCE and depth < MAX_ATTRIBUTE_DEPTH


def _walk(modules: list[tuple[str, Any]],
          large: dict[int, tuple[type, int]]) -> Iterator[Container | None]:
    """Containers reachable from the modules, breadth first: the shortest owner path names an
    object (a module global before an attribute of another module's object). Only what is
    worth visiting is queued (most globals are functions, classes of other modules, strings).
    Yields None after every module and every object so the caller can time its slices: an
    application with thousands of modules must not be read in one go. large gets the
    containers over LARGE_BYTES (id -> type, size): the type census sizes them exactly."""
    queue: collections.deque[tuple[str, str, Any, int]] = collections.deque()
    for module_name, module in modules:
        yield None
        try:
            names = list(vars(module).items())
        except TypeError:
            continue
        yield from _enqueue(queue, ((module_name, f"{module_name}:{name}", value, 0)
                                    for name, value in names if not name.startswith("__")
                                    and _worth_visiting(value, 0, module_name)))
    seen: set[int] = set()
    while queue:
        module_name, owner, value, depth = queue.popleft()
        yield None
        if id(value) in seen:
            continue
        seen.add(id(value))
        try:
            yield from _visit(queue, large, module_name, owner, value, depth)
        except Exception:  # an object whose attribute access raises: skipped, not fatal
            continue


def _enqueue(queue: collections.deque[tuple[str, str, Any, int]],
             entries: Iterator[tuple[str, str, Any, int]]) -> Iterator[None]:
    """Queue entries ENQUEUE_BATCH at a time, yielding between batches: a module, class or
    instance with a hundred thousand names must not be read in one slice."""
    while True:
        before = len(queue)
        queue.extend(itertools.islice(entries, ENQUEUE_BATCH))
        if len(queue) - before < ENQUEUE_BATCH:
            return
        yield None


def _visit(queue: collections.deque[tuple[str, str, Any, int]],
           large: dict[int, tuple[type, int]], module_name: str, owner: str, value: Any,
           depth: int) -> Iterator[Container | None]:
    tp = type(value)
    if issubclass(tp, CONTAINER_TYPES):
        _note_large(large, value)
        items, size = len(value), shallow_size(value)
        held = held_items(value) if size >= MIN_OWNER_GROWTH_BYTES else ("", 0)
        yield Container(owner, type(value).__name__, items, size, *held)
        if isinstance(value, dict) and 0 < items <= MAX_DICT_FANOUT and depth < 3:
            entries = list(value.items())
            yield from _enqueue(queue, (
                (module_name, f"{owner}[{key_text(key)}]", entry, depth + 1)
                for key, entry in entries
                if _worth_visiting(entry, depth + 1, module_name)
            ))
    elif issubclass(tp, LRU_CACHE_TYPE):
        # functools.lru_cache keeps its dict in C, out of reach: estimate per entry.
        size = int(value.cache_info().currsize)
        yield Container(owner, "lru_cache", size, size * LRU_ENTRY_BYTES)
    elif issubclass(tp, type):
        if depth > 0 or not _defined_in(value, module_name):
            return
        yield from _enqueue(queue, (
            (module_name, f"{owner}.{attr}", item, depth + 1)
            for attr, item in list(vars(value).items())
            if not attr.startswith("__") and _worth_visiting(item, depth + 1, module_name)
        ))
    elif depth < MAX_ATTRIBUTE_DEPTH and (attributes := instance_dict(value)) is not None:
        _note_large(large, attributes)
        yield Container(owner, f"{type(value).__qualname__}.__dict__", len(attributes),
                        sys.getsizeof(attributes))
        yield from _enqueue(queue, ((module_name, f"{owner}.{attr}", item, depth + 1)
                                    for attr, item in list(attributes.items())
                                    if _worth_visiting(item, depth + 1, module_name)))


def _note_large(large: dict[int, tuple[type, int]], value: Any) -> None:
    tp = type(value)
    if tp in EXACT_CONTAINERS and gc.is_tracked(value):  # their __sizeof__ is CPython's
        size = sys.getsizeof(value)
        if size > LARGE_BYTES:
            large[id(value)] = (tp, size)


class Slicer:
    """Runs Python work in slices of at most slice_s, yielding the GIL in between."""

    def __init__(self, slice_s: float) -> None:
        self.slice_s = slice_s
        self.busy_s = 0.0
        self.max_pause_s = 0.0
        self.slices = 0
        self.pauses_s: list[float] = []
        # CPU time of each slice: on a loaded machine a slice's wall time also holds the time
        # the OS ran other processes; this is the census's own share.
        self.max_pause_cpu_s = 0.0
        self._start = time.perf_counter()
        self._start_cpu = time.thread_time()

    def tick(self) -> None:
        now = time.perf_counter()
        if now - self._start >= self.slice_s:
            self._end_slice(now)
            time.sleep(0)  # drops the GIL: request threads run
            self.restart()

    def _end_slice(self, now: float) -> None:
        pause = now - self._start
        self.max_pause_cpu_s = max(self.max_pause_cpu_s, time.thread_time() - self._start_cpu)
        self.busy_s += pause
        self.max_pause_s = max(self.max_pause_s, pause)
        self.slices += 1
        self.pauses_s.append(pause)

    def finish(self) -> None:
        self._end_slice(time.perf_counter())

    def restart(self) -> None:
        """A new slice starts now (after work timed on its own, e.g. one unsliced call)."""
        self._start = time.perf_counter()
        self._start_cpu = time.thread_time()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """CPython's automatic collection off while the census runs. The census allocates (its
    queue, its rows): left on, those allocations start young collections inside its slices
    (up to 2.6 ms each on a heap of a million objects) and, promoted, bring the next full one
    (120-180 ms per million objects) closer. It runs again after, as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def take_census(*, types: bool = True, slice_s: float = 0.002) -> Census:
    """One census. Call from any thread; it yields the GIL every slice_s."""
    try:
        with collector_paused():
            return _take_census(types, slice_s)
    finally:
        _kinds.clear()


def _take_census(types: bool, slice_s: float) -> Census:
    started = time.perf_counter()
    census = Census(time_s=time.time())
    slicer = Slicer(slice_s)
    modules = [(name, module) for name, module in sorted(list(sys.modules.items()))
               if module is not None and not is_own_module(name)]
    census.modules = [name for name in list(sys.modules) if not is_own_module(name)]
    large: dict[int, tuple[type, int]] = {}
    for found in _walk(modules, large):
        if found is not None:
            census.containers.append(found)
        slicer.tick()
    if types:
        slicer.finish()
        time.sleep(0)  # yield before the one unsliced call, so pauses do not add up
        before, before_cpu = time.perf_counter(), time.thread_time()
        objects = gc.get_objects()
        census.get_objects_s = time.perf_counter() - before
        get_objects_cpu_s = time.thread_time() - before_cpu
        slicer.max_pause_cpu_s = max(slicer.max_pause_cpu_s, get_objects_cpu_s)
        census.tracked_objects = len(objects)
        slicer.restart()
        census.types = count_types(objects, slicer.tick, large)  # empties objects
    slicer.finish()
    census.busy_s = slicer.busy_s + census.get_objects_s
    census.max_pause_s = max(slicer.max_pause_s, census.get_objects_s)
    census.max_pause_cpu_s = slicer.max_pause_cpu_s
    census.slices = slicer.slices
    census.slice_pauses_s = slicer.pauses_s
    census.duration_s = time.perf_counter() - started
    return census


def census_json(census: Census, *, top_containers: int = 1000) -> dict[str, Any]:
    """The snapshot's census part: the largest containers and every type."""
    largest = sorted(census.containers, key=lambda c: (-c.size_bytes, -c.items, c.owner))
    return {
        "types": [t.to_json() for t in census.types],
        "containers": [c.to_json() for c in largest[:top_containers]],
        "modules": census.modules,
        "census": {
            "tracked_objects": census.tracked_objects,
            "duration_s": round(census.duration_s, 6),
            "busy_s": round(census.busy_s, 6),
            "max_pause_s": round(census.max_pause_s, 6),
            "get_objects_s": round(census.get_objects_s, 6),
            "slices": census.slices,
        },
    }
