"""The census works in bounded slices: each between two yields does a bounded amount of work."""

from __future__ import annotations

import collections
import gc
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from memwarden.leak import census as census_module
from memwarden.leak.census import take_census
from memwarden.leak.typecount import CHUNK_OBJECTS, TypeCount, count_types


class _Row:
    pass


def test_type_count_ticks_every_chunk_and_lets_go_of_the_objects() -> None:
    objects: list[object] = [_Row() for _ in range(3 * CHUNK_OBJECTS + 5)]
    objects += [[n] for n in range(CHUNK_OBJECTS)]
    left: list[int] = []
    rows = count_types(objects, lambda: left.append(len(objects)))
    # One tick per chunk, and the references are dropped chunk by chunk, not all at the end.
    assert len(left) == 5
    assert all(a - b <= CHUNK_OBJECTS for a, b in zip([4 * CHUNK_OBJECTS + 5, *left], left,
                                                      strict=False))
    assert objects == []
    counts = {r.type: (r.count, r.size_bytes) for r in rows}
    count, size = counts[f"{__name__}._Row"]
    assert count == 3 * CHUNK_OBJECTS + 5
    assert size == count * sys.getsizeof(_Row(), 0)  # one size for all: exact
    assert counts["list"][0] == CHUNK_OBJECTS


def test_a_large_object_in_the_size_sample_is_not_scaled() -> None:
    big = {n: [n] for n in range(5000)}  # one large dict among a thousand small ones
    small = [{"a": [n]} for n in range(1000)]
    exact = sys.getsizeof(big) + sum(map(sys.getsizeof, small))
    for position in range(8):  # sampled or not, depending on where it sits
        objects: list[Any] = [*small[:position], big, *small[position:]]
        dicts = {r.type: r.size_bytes for r in count_types(objects, lambda: None)}["dict"]
        assert dicts <= exact  # never the 8-fold of it
        objects = [*small[:position], big, *small[position:]]
        known = {id(big): (dict, sys.getsizeof(big))}
        dicts = {r.type: r.size_bytes for r in count_types(objects, lambda: None, known)}["dict"]
        assert dicts == exact  # sized by the owner walk: exact, wherever it sits


def test_objects_made_in_a_loop_are_sized_without_bias() -> None:
    # Sizes repeat with a period of 16: a sample at a fixed stride of 8 sees two of them.
    objects: list[Any] = [[0] * (n % 16) for n in range(16 * CHUNK_OBJECTS)]
    exact = sum(map(sys.getsizeof, objects))
    lists = {r.type: r.size_bytes for r in count_types(list(objects), lambda: None)}["list"]
    assert abs(lists - exact) < 0.02 * exact


def test_the_owner_walk_sizes_large_containers_for_the_type_census(
        many_modules: list[str]) -> None:
    module = sys.modules[many_modules[0]]
    module.registry = {n: [n] for n in range(5000)}  # type: ignore[attr-defined]
    large: dict[int, tuple[type, int]] = {}
    for _ in census_module._walk([(many_modules[0], module)], large):
        pass
    assert large == {id(module.registry): (dict, sys.getsizeof(module.registry))}


@pytest.fixture
def many_modules() -> Iterator[list[str]]:
    names = [f"census_slices_app.m{n}" for n in range(300)]
    for name in names:
        module = types.ModuleType(name)
        module.__dict__.update({f"g{k}": [k] for k in range(50)})
        sys.modules[name] = module
    yield names
    for name in names:
        del sys.modules[name]


def test_walk_yields_between_modules(many_modules: list[str]) -> None:
    walk = census_module._walk([(name, sys.modules[name]) for name in many_modules], {})
    assert next(walk) is None
    # The first yield came before the last module was read: one read per slice at most,
    # not all of sys.modules in one go.
    sys.modules[many_modules[-1]].late = [1]  # type: ignore[attr-defined]
    found = [c.owner for c in walk if c is not None]
    assert len(found) == 300 * 50 + 1
    assert f"{many_modules[-1]}:late" in found


def test_collector_is_off_during_the_census_and_as_it_was_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = census_module.count_types

    def counting(objects: list[Any], tick: Callable[[], None],
                 large: dict[int, tuple[type, int]]) -> list[TypeCount]:
        seen.append(gc.isenabled())  # the real count, watched from inside the census
        return real(objects, tick, large)

    monkeypatch.setattr(census_module, "count_types", counting)
    assert gc.isenabled()
    take_census()
    assert gc.isenabled() and seen == [False]
    gc.disable()
    try:
        take_census()
        assert not gc.isenabled()  # an application that turned it off keeps it off
    finally:
        gc.enable()


def test_a_module_with_many_names_is_queued_a_batch_at_a_time() -> None:
    from memwarden.leak.census import ENQUEUE_BATCH, _enqueue

    queue: collections.deque[tuple[str, str, Any, int]] = collections.deque()
    entries = ((f"m{n}", f"m:{n}", n, 0) for n in range(5 * ENQUEUE_BATCH + 7))
    sizes = [len(queue) for _ in _enqueue(queue, entries)]
    assert sizes == [ENQUEUE_BATCH * k for k in range(1, 6)]  # a yield after each batch
    assert len(queue) == 5 * ENQUEUE_BATCH + 7


def test_a_census_keeps_no_type_alive_after_it() -> None:
    import weakref

    made = type("MadeAtRunTime", (), {})
    module = types.ModuleType("census_slices_runtime")
    module.thing = made()  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        take_census(types=False)
    finally:
        del sys.modules[module.__name__]
    gone = weakref.ref(made)
    del module, made
    gc.collect()
    assert gone() is None
