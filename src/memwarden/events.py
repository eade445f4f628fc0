"""Events: what drivers tell the world (logs, alerts, traces, /memory). Transitions only."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal[
    "tier",  # a tier transition
    "action",  # gc / cleanup hook / malloc_trim ran, with bytes freed
    "leak",  # a leak was detected (rate, ETA)
    "restart",  # a program or process is being restarted (reason in figures)
    "oom_kill",  # the kernel OOM-killed something
    "exit",  # a program exited
    "shed",  # load shedding began/ended
]


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    time_s: float
    message: str  # one human line, figures included
    tier: str | None = None  # "ok" | "warn" | "critical" | "restart"
    source: str = "guardian"  # "guardian", "supervisor:<program>", "web"
    figures: dict[str, Any] = field(default_factory=dict)  # JSON-ready numbers and strings

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "time": self.time_s,
            "message": self.message,
            "tier": self.tier,
            "source": self.source,
            "figures": dict(self.figures),
        }


Listener = Callable[[Event], None]


class EventBus:
    """Fan-out to listeners plus a bounded history; a listener that raises is logged, not fatal."""

    def __init__(self, history: int = 100) -> None:
        self._listeners: list[Listener] = []
        self._recent: deque[Event] = deque(maxlen=history)
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            self._recent.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                import logging

                logging.getLogger("memwarden").exception(
                    "event listener %r failed on %s event", listener, event.kind
                )

    def recent(self, limit: int | None = None) -> list[Event]:
        with self._lock:
            events = list(self._recent)
        return events if limit is None else events[-limit:]
