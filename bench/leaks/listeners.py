"""Listeners appended per connection and never removed (each holds its connection object)."""

from __future__ import annotations

from collections.abc import Callable

KIND = "leak"
OWNER = "leaks.listeners:bus.listeners"
EXPECT = "python_heap"
RATE = 300 * 700


class EventBus:
    def __init__(self) -> None:
        self.listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self.listeners.append(listener)


class Connection:
    def __init__(self, number: int) -> None:
        self.number = number
        self.buffer = bytes(512)

    def on_event(self, name: str) -> None:
        self.last = name


bus = EventBus()


def step(i: int) -> None:
    for n in range(300):
        connection = Connection(i * 1000 + n)
        bus.subscribe(connection.on_event)  # the bug: no unsubscribe when it closes
