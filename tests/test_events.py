"""The EventBus: a listener that raises is logged and the others still run; history is
bounded to the last 100 events."""

from __future__ import annotations

import logging
import time

import pytest

from memwarden.events import Event, EventBus, EventKind


def _event(n: int) -> Event:
    return Event(kind=EventKind.TIER, time_s=time.time(), message=f"e{n}", source="test")


def test_a_listener_that_raises_is_logged_and_the_others_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="memwarden"):
        bus.publish(_event(1))
    assert [e.message for e in seen] == ["e1"]
    assert any("listener" in r.getMessage() and r.exc_info for r in caplog.records)


def test_recent_keeps_the_last_100() -> None:
    bus = EventBus()
    for n in range(150):
        bus.publish(_event(n))
    recent = bus.recent()
    assert len(recent) == 100 and recent[0].message == "e50" and recent[-1].message == "e149"
    assert [e.message for e in bus.recent(2)] == ["e148", "e149"]
