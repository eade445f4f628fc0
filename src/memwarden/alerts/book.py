"""The alert book: which events become alerts, deduplicated by fingerprint, with a cooldown.

Events fire on transitions only (the guardian publishes those), so the book's job is to keep a
flapping tier or a burst of restarts from paging anyone a hundred times:
- a tier alert that is already firing is not sent again (deduplicated);
- an alert fires at most once per cooldown; one suppressed by the cooldown is not resolved
  either, since nobody heard of it (Alertmanager's re-send still reports it while it fires);
- resolutions are never delayed, so no receiver keeps a stale firing alert.
Not thread-safe on its own: the sender calls it under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memwarden.alerts.config import AlertsConfig
from memwarden.alerts.payload import ONE_SHOT_TTL_S, Alert, event_labels, tier_labels
from memwarden.events import Event
from memwarden.policy import Tier


@dataclass(slots=True)
class _Record:
    alert: Alert  # the firing alert as first sent (startsAt is kept across re-sends)
    firing: bool
    announced: bool  # a receiver has heard it fire
    last_fired_s: float | None  # when it was last sent firing (cooldown base)


def _tier(label: str | None) -> Tier | None:
    try:
        return Tier.from_label(label) if label else None
    except KeyError:
        return None


class AlertBook:
    def __init__(self, config: AlertsConfig) -> None:
        self.config = config
        self._records: dict[str, _Record] = {}
        self.deduplicated = 0
        self.suppressed = 0

    def on_event(self, event: Event, now_s: float) -> list[Alert]:
        """Alerts to send now for this event (possibly none)."""
        if event.kind not in self.config.kinds:
            return []
        if event.kind == "tier":
            return self._on_tier(event, now_s)
        alert = Alert(
            labels=event_labels(self.config.service, event),
            summary=event.message,
            status="firing",
            starts_at_s=event.time_s,
            ends_at_s=event.time_s + ONE_SHOT_TTL_S,
            event=event.to_json(),
        )
        record = self._records.get(alert.fingerprint)
        if record is not None and self._cooling(record, now_s):
            self.suppressed += 1
            return []
        self._records[alert.fingerprint] = _Record(alert, False, True, now_s)
        return [alert]

    def _on_tier(self, event: Event, now_s: float) -> list[Alert]:
        current = _tier(event.tier)
        if current is None:
            return []
        out = self._resolve_above(event.source, current, event, now_s)
        previous = _tier(str(event.figures.get("previous", ""))) or Tier.OK
        if current > previous and current > Tier.OK:
            fired = self._fire(event, current, now_s)
            if fired is not None:
                out.append(fired)
        return out

    def _fire(self, event: Event, tier: Tier, now_s: float) -> Alert | None:
        alert = Alert(
            labels=tier_labels(self.config.service, event.source, tier.label),
            summary=event.message,
            status="firing",
            starts_at_s=event.time_s,
            ends_at_s=None,
            event=event.to_json(),
        )
        record = self._records.get(alert.fingerprint)
        if record is not None and record.firing:
            self.deduplicated += 1
            return None
        if record is not None and self._cooling(record, now_s):
            self.suppressed += 1
            self._records[alert.fingerprint] = _Record(alert, True, False, record.last_fired_s)
            return None
        self._records[alert.fingerprint] = _Record(alert, True, True, now_s)
        return alert

    def _resolve_above(self, source: str, tier: Tier, event: Event, now_s: float) -> list[Alert]:
        out = []
        for record in self._records.values():
            labels = record.alert.labels
            level = _tier(labels.get("tier"))
            if not record.firing or level is None or labels["source"] != source or level <= tier:
                continue
            record.firing = False
            if record.announced:
                record.announced = False
                out.append(replace(record.alert, status="resolved", summary=event.message,
                                   ends_at_s=event.time_s, event=event.to_json()))
        return out

    def _cooling(self, record: _Record, now_s: float) -> bool:
        last_s = record.last_fired_s
        return last_s is not None and now_s - last_s < self.config.cooldown_s

    def firing(self) -> list[Alert]:
        """Tier alerts firing now (Alertmanager's re-send); marks them announced."""
        alerts = []
        for record in self._records.values():
            if record.firing:
                record.announced = True
                alerts.append(record.alert)
        return alerts
