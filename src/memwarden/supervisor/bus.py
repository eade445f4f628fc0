"""The supervisor's event bus: every state change it decides, published once, typed.

`emit(kind, message, program=..., level=..., **figures)` builds the Event (source
`supervisor:<program>`, or `supervisor` for the budget and the container) and publishes it.
Subscribers: the text/JSON log (always), the trace writer (`--trace`), alerts (when a webhook
or Alertmanager is configured). Samples are not events: they fan out separately, only to the
trace writer, and cost nothing when nobody listens.
"""

from __future__ import annotations

import time

from memwarden.events import Event, EventBus, EventKind, Level

# Not `from typing import ...` at run time: it costs the lean supervisor ~2 MB of RSS.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from memwarden.policy import Tier
    from memwarden.sample import Sample

    SampleListener = Callable[[str, Sample, Tier, dict[Tier, int | None]], None]


class SupervisorBus(EventBus):
    def __init__(self) -> None:
        super().__init__()
        self._sample_listeners: list[SampleListener] = []

    def emit(self, kind: EventKind, message: str, *, program: str | None = None,
             level: Level = Level.INFO, tier: str | None = None, **figures: Any) -> Event:
        event = Event(kind=kind, time_s=time.time(), message=message, tier=tier,
                      source=f"supervisor:{program}" if program else "supervisor",
                      figures=figures, level=level)
        self.publish(event)
        return event

    def on_sample(self, listener: SampleListener) -> None:
        self._sample_listeners.append(listener)

    @property
    def wants_samples(self) -> bool:
        return bool(self._sample_listeners)

    def sampled(self, program: str, sample: Sample, tier: Tier,
                thresholds_bytes: dict[Tier, int | None]) -> None:
        for listener in self._sample_listeners:
            listener(program, sample, tier, thresholds_bytes)
