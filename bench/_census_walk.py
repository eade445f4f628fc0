"""The type census the guardian does not use, measured beside the one it does.

A type census in slices needs the objects without one gc.get_objects() call (C code, one
pause). The only way from Python is a walk of the reachable heap: gc.get_referents from the
modules, the threads' frames and the young generations, in slices, a set of ids to count
each object once. This measures its CPU, its longest slice and what it reaches (objects only
C code holds, as a leaked reference, are never reached).
"""

from __future__ import annotations

import gc
import itertools
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

BATCH_OBJECTS = 256  # objects whose referents are asked for in one call
CHUNK_REFERENTS = 4096  # referents sorted out between two clock checks
LARGE_TYPES = (list, tuple, dict, set, frozenset)  # read in chunks when large


@dataclass(slots=True)
class Walk:
    counts: Counter[type] = field(default_factory=Counter)
    cpu_s: float = 0.0
    max_slice_cpu_s: float = 0.0
    slices: int = 0


def _roots() -> list[Any]:
    roots: list[Any] = [vars(m) for m in list(sys.modules.values())
                        if isinstance(m, types.ModuleType)]
    frames = sys._current_frames()
    frames[threading.get_ident()] = sys._getframe(2)  # the caller's: not the walk's own lists
    for frame in frames.values():
        while frame is not None:
            roots.append(frame)
            frame = frame.f_back  # type: ignore[assignment]
    return roots + gc.get_objects(0) + gc.get_objects(1)


def walk_types(slice_s: float = 0.002) -> Walk:
    walk = Walk()
    seen: set[int] = set()
    stack: list[Any] = []
    big: list[Iterator[Any]] = []  # large containers, read a chunk at a time
    pending = _roots()  # objects reached, not yet sorted out
    started = time.thread_time()
    slice_start, slice_cpu = time.perf_counter(), time.thread_time()
    while pending or stack or big:
        if pending:
            chunk = list(filter(gc.is_tracked, pending[-CHUNK_REFERENTS:]))
            del pending[-CHUNK_REFERENTS:]
            by_id = dict(zip(map(id, chunk), chunk, strict=True))
            new = by_id.keys() - seen
            seen |= new
            fresh = list(map(by_id.__getitem__, new))
            walk.counts.update(map(type, fresh))
            stack.extend(fresh)
        elif big:
            try:
                pending = list(itertools.islice(big[-1], CHUNK_REFERENTS))
            except RuntimeError:  # changed size under us (another thread): the rest is left
                pending = []
            if not pending:
                big.pop()
        else:
            batch = stack[-BATCH_OBJECTS:]
            del stack[-BATCH_OBJECTS:]
            large = [o for o in batch if type(o) in LARGE_TYPES and len(o) > CHUNK_REFERENTS]
            big.extend(itertools.chain.from_iterable(o.items()) if type(o) is dict else iter(o)
                       for o in large)
            pending = gc.get_referents(*(o for o in batch if not any(o is x for x in large)))
        if time.perf_counter() - slice_start >= slice_s:
            walk.max_slice_cpu_s = max(walk.max_slice_cpu_s, time.thread_time() - slice_cpu)
            walk.slices += 1
            time.sleep(0)
            slice_start, slice_cpu = time.perf_counter(), time.thread_time()
    walk.cpu_s = time.thread_time() - started
    return walk
