"""The leak census is the owner walk alone unless the type census is needed or asked for:
a growing container names the type it holds; a leak no container names (held from C) gets
a type census pair; [leak] full_census, or Attribution(types=True), takes it every time."""

from __future__ import annotations

import collections
import io
import json
import logging
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Callable

import pytest

from memwarden.config import GuardConfig
from memwarden.events import Event
from memwarden.guardian import Guardian
from memwarden.hooks import HookRegistry
from memwarden.leak.attribute import Attribution
from memwarden.leak.config import LeakConfig, load_leak_config
from memwarden.leak.items import held_items
from memwarden.leak.simulate import MiB, linear, series
from memwarden.leak.watch import LeakWatch
from tests.helpers import child_env
from tests.leak.test_watch import fake_sample


class Session:
    def __init__(self, user: int) -> None:
        self.user = user


REGISTRY: dict[str, Session] = {}  # a module global: what grows in these tests
SESSION = f"{__name__}.Session"


@pytest.fixture(autouse=True)
def empty_registry() -> None:
    REGISTRY.clear()


def grow(count: int) -> None:
    start = len(REGISTRY)
    REGISTRY.update((f"user-{n}", Session(n)) for n in range(start, start + count))


def test_held_items_are_the_newest_and_weak_references_are_followed() -> None:
    handlers = [logging.StreamHandler(io.StringIO()) for _ in range(4)]
    assert held_items([weakref.ref(h) for h in handlers])[0] == "logging.StreamHandler"
    assert held_items({h: weakref.ref(h) for h in handlers})[0] == "logging.StreamHandler"
    # the newest items: a leak appends objects of its own type after older ones
    assert held_items(["old"] * 100 + [Session(n) for n in range(8)])[0] == SESSION
    assert held_items(collections.deque([1.5] * 100 + [Session(0)] * 8))[0] == SESSION
    assert held_items({n: Session(n) for n in range(3)})[0] == SESSION
    assert held_items({frozenset({n}) for n in range(5)})[0] == "frozenset"
    assert held_items([]) == ("", 0)
    assert held_items(bytearray(100)) == ("", 0)
    dead = weakref.ref(Session(0))  # its referent is gone: nothing to name
    assert held_items([dead]) == ("", 0)
    name, size = held_items([Session(n) for n in range(8)])
    assert (name, size) == (SESSION, sys.getsizeof(Session(0)))


def test_a_growing_container_names_its_type_without_a_type_census() -> None:
    attribution = Attribution(trace=True)
    attribution.begin()
    grow(6000)
    attribution.finish()
    assert attribution.before is not None and attribution.before["types"] == []
    assert not attribution.types_due
    assert not [g for g in attribution.growers if g.kind == "type"], "a type census ran"
    culprit = attribution.culprit
    assert culprit is not None and culprit.growing_type is not None
    assert culprit.growing_type.name == SESSION
    assert culprit.growing_type.delta_items == 6000
    assert culprit.growing_type.delta_bytes == 6000 * sys.getsizeof(Session(0))
    assert f"{__name__}:REGISTRY holds {SESSION} (+6,000 objects" in culprit.line()


def test_asked_for_the_type_census_runs_in_both_censuses() -> None:
    attribution = Attribution(trace=True, types=True)
    attribution.begin()
    grow(6000)
    attribution.finish()
    assert attribution.before is not None and attribution.before["types"]
    assert not attribution.types_due
    types = {g.name: g.delta_items for g in attribution.growers if g.kind == "type"}
    assert types.get(SESSION, 0) >= 6000
    assert attribution.culprit is not None
    assert f"holds {SESSION}" in attribution.culprit.line()


def test_without_a_window_the_type_census_is_the_witness() -> None:
    attribution = Attribution(trace=False)
    attribution.begin()
    assert attribution.before is not None and attribution.before["types"]
    grow(20_000)
    attribution.finish(try_trim=False)
    assert not attribution.types_due
    c = attribution.classification
    assert c is not None and c.kind == "python_heap", c
    assert "gc-tracked objects grew" in c.advice


C_HELD_CHILD = textwrap.dedent(
    """
    import ctypes, json
    from memwarden.leak.attribute import Attribution

    rows = [bytes(64) for _ in range(16)]

    def leak(count):  # a C structure keeps a reference nobody gives back
        for _ in range(count):
            cursor = iter(list(rows))
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(cursor))

    attribution = Attribution(trace=True)
    attribution.begin()
    before_types = len(attribution.before["types"])
    leak(20_000)
    attribution.finish()
    due, concluded = attribution.types_due, attribution.culprit is not None
    leak(20_000)  # the leak goes on over the type census pair's window
    attribution.finish_types()
    print(json.dumps({"before_types": before_types, "due": due, "concluded": concluded,
                      "after": attribution.types_due, **attribution.figures()}))
    """
)


def test_a_leak_no_container_names_gets_a_type_census_pair() -> None:
    # In a fresh interpreter: the leaked references are never given back.
    done = subprocess.run([sys.executable, "-c", C_HELD_CHILD], env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["before_types"] == 0  # the baseline was the owner walk alone
    assert result["due"] and not result["concluded"] and not result["after"]
    assert result["held_by_c"] is True, result["culprit"]
    assert result["growing_type"] == "list_iterator", result["culprit"]
    assert "no Python referrers: held by a C extension" in result["culprit"]
    assert result["classification"] == "python_heap", result["advice"]


def test_full_census_setting() -> None:
    assert LeakConfig().full_census is False
    assert load_leak_config({"full_census": True}).full_census is True
    assert load_leak_config(environ={"MEMWARDEN_LEAK_FULL_CENSUS": "true"}).full_census is True


@pytest.mark.parametrize(("config", "with_types"), [
    (LeakConfig(min_window_s=300.0, trace_window_s=5.0), False),
    (LeakConfig(min_window_s=300.0, trace_window_s=5.0, full_census=True), True),
    (LeakConfig(min_window_s=300.0, trace_window_s=0.0), True),  # no window: types witness
])
def test_the_watch_baseline_counts_types_only_when_asked_or_needed(
        config: LeakConfig, with_types: bool) -> None:
    watch = LeakWatch(Guardian(GuardConfig(), registry=HookRegistry()), config).start()
    times, values = series(linear(200 * MiB, 10 * MiB / 60), duration_s=600.0, interval_s=2.0,
                           noise_bytes=MiB / 2)
    try:
        for t, v in zip(times, values, strict=True):
            watch.on_sample(fake_sample(t, v, 4096 * MiB))
            assert watch.wait_idle()
            if watch.baseline is not None:
                break
    finally:
        watch.stop()
    assert watch.baseline is not None, "no baseline census was taken"
    assert bool(watch.baseline["types"]) is with_types


class Hidden:
    def __init__(self, n: int) -> None:
        self.n = n


def _hidden_sink() -> Callable[[int], None]:
    kept: list[Hidden] = []  # a closure's: reachable from no module global the census walks

    def add(count: int) -> None:
        kept.extend(Hidden(n) for n in range(count))

    return add


def test_the_watch_takes_a_type_census_pair_when_no_container_grew() -> None:
    # The window opened at suspicion has run; no container grew, the traced growth explains
    # it: the watch takes a type census, waits a window as long, takes another, then names
    # the growing type, all before the verdict.
    add = _hidden_sink()
    config = LeakConfig(min_window_s=300.0, trace_window_s=5.0)
    guardian = Guardian(GuardConfig(), registry=HookRegistry())
    watch = LeakWatch(guardian, config).start()
    events: list[Event] = []
    guardian.events.subscribe(events.append)
    due_seen: list[bool] = []
    times, values = series(linear(200 * MiB, 10 * MiB / 60), duration_s=900.0, interval_s=2.0,
                           noise_bytes=MiB / 2)
    try:
        for t, v in zip(times, values, strict=True):
            watch.on_sample(fake_sample(t, v, 4096 * MiB))
            add(3000)
            assert watch.wait_idle()
            early = watch._early
            due_seen.append(early is not None and early[0].types_due)
            if any(e.figures.get("phase") == "attributed" for e in events):
                break
    finally:
        watch.stop()
    assert any(due_seen), "no type census pair was taken"
    assert watch.baseline is not None and watch.baseline["types"] == []
    attributed = [e for e in events if e.figures.get("phase") == "attributed"]
    assert attributed, [e.message for e in events]
    assert attributed[0].figures["growing_type"] == f"{__name__}.Hidden", attributed[0].message
    assert attributed[0].figures["classification"] == "python_heap"


class Hostile:
    """A proxy as werkzeug's: anything asked of it raises."""

    def __getattribute__(self, name: str) -> object:
        raise RuntimeError(f"outside of a request context ({name})")

    def __sizeof__(self) -> int:
        raise RuntimeError("outside of a request context")


class BrokenDict(dict[int, int]):
    def values(self) -> object:  # type: ignore[override]
        raise RuntimeError("no values today")


def test_held_items_of_hostile_containers_never_raise() -> None:
    name, size = held_items([Hostile() for _ in range(4)])
    assert name == f"{__name__}.Hostile" and size > 0
    assert held_items(BrokenDict({1: 2})) == ("", 0)
    # a dead weak proxy raises ReferenceError on any use: named by its type, sized bare
    assert held_items([weakref.proxy(Session(0))])[0] == "weakref.ProxyType"
    huge = [0] * 10**6  # only the newest items are looked at, whatever the length
    assert held_items(huge) == ("int", sys.getsizeof(0))
