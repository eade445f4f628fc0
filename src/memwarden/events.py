"""Events: what drivers tell the world (logs, alerts, traces, /memory). Transitions only.

The guardian, the supervisor, the web middleware and the workers each publish on an EventBus;
the text and JSON logs, the trace writer, alerts and OpenTelemetry subscribe. Nobody parses
log text. Kinds and their figures are listed in the events reference of the docs.

Loaded by the lean supervisor: no `typing` and no `threading` at run time (the bus's lock is a
bare `_thread` lock).
"""

from __future__ import annotations

import _thread
from collections import deque
from enum import StrEnum

from memwarden.record import field, record

# Not `from typing import ...` at run time: it costs the lean supervisor ~2 MB of RSS.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class EventKind(StrEnum):
    TIER = "tier"  # a tier transition (figures: previous, measured_bytes, threshold_bytes)
    ACTION = "action"  # gc / cleanup hook / malloc_trim ran, with bytes freed
    LEAK = "leak"  # a leak was detected or cleared (rate, ETA)
    RESTART = "restart"  # a program or process is being restarted (figures: reason)
    OOM_KILL = "oom_kill"  # the kernel OOM-killed something
    EXIT = "exit"  # a program's process exited (figures: status, uptime_s)
    SHED = "shed"  # load shedding began/ended
    STARTED = "started"  # a program's process started (figures: pid, generation)
    STOPPED = "stopped"  # a program reached a final state (figures: state)
    WATCHDOG = "watchdog"  # a liveness verdict: hung, or missed its sd_notify deadline
    STATE_SAVED = "state_saved"  # an application saved its state (it publishes this itself)
    STATE_RESTORED = "state_restored"  # an application reloaded what it saved


class Level(StrEnum):
    """How loud a log line renders an event."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@record
class Event:
    kind: EventKind
    time_s: float
    message: str  # one human line, figures included
    tier: str | None = None  # "ok" | "warn" | "critical" | "restart"
    source: str = "guardian"  # "guardian", "supervisor", "supervisor:<program>", "web"
    figures: dict[str, Any] = field(default_factory=dict)  # JSON-ready numbers and strings
    level: Level = Level.INFO

    @property
    def program(self) -> str | None:
        """The program a `supervisor:<program>` event is about."""
        origin, _, name = self.source.partition(":")
        return name if origin == "supervisor" and name else None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "time": self.time_s,
            "message": self.message,
            "tier": self.tier,
            "source": self.source,
            "level": str(self.level),
            "figures": dict(self.figures),
        }


if TYPE_CHECKING:
    Listener = Callable[[Event], None]


class EventBus:
    """Fan-out to listeners plus a bounded history; a listener that raises is logged, not fatal.

    Listeners run in the publisher's thread, in subscription order: one that needs to do I/O
    that may block (an HTTP POST) must only enqueue, as the alert sender does."""

    def __init__(self, history: int = 100) -> None:
        self._listeners: list[Listener] = []
        self._recent: deque[Event] = deque(maxlen=history)
        self._lock = _thread.allocate_lock()

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
