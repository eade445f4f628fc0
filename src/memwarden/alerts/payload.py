"""Alerts as data, and their wire formats: Slack `{"text": ...}`, generic JSON, Alertmanager v2.

Pure functions: no I/O, no clock (times are passed in), so the shapes are trivially testable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from memwarden.events import Event

Status = Literal["firing", "resolved"]
TIER_SEVERITY = {"warn": "warning", "critical": "critical", "restart": "critical"}
KIND_ALERTNAME = {
    "tier": "MemwardenMemoryTier",
    "restart": "MemwardenRestart",
    "oom_kill": "MemwardenOOMKill",
    "leak": "MemwardenLeak",
    "exit": "MemwardenExit",
    "action": "MemwardenAction",
    "shed": "MemwardenShedding",
}
KIND_SEVERITY = {"restart": "warning", "oom_kill": "critical", "leak": "warning"}
# A one-shot alert (restart, OOM kill, leak) is shown in Alertmanager for this long.
ONE_SHOT_TTL_S = 300.0


@dataclass(frozen=True, slots=True)
class Alert:
    labels: dict[str, str]  # identity: alertname, service, source, (tier), severity
    summary: str
    status: Status
    starts_at_s: float
    ends_at_s: float | None  # set when resolved, or the expiry of a one-shot alert
    event: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Stable across processes and restarts: a hash of the sorted identity labels."""
        identity = "\x1f".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.labels["alertname"]


def tier_labels(service: str, source: str, tier: str) -> dict[str, str]:
    return {
        "alertname": KIND_ALERTNAME["tier"],
        "service": service,
        "source": source,
        "tier": tier,
        "severity": TIER_SEVERITY.get(tier, "warning"),
    }


def event_labels(service: str, event: Event) -> dict[str, str]:
    """Labels of a one-shot alert; leak alerts keep their tier out so one leak is one alert."""
    return {
        "alertname": KIND_ALERTNAME.get(event.kind, "MemwardenEvent"),
        "service": service,
        "source": event.source,
        "severity": KIND_SEVERITY.get(event.kind, "warning"),
    }


def iso(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def slack_payload(alert: Alert) -> dict[str, Any]:
    if alert.status == "resolved":
        head = f":white_check_mark: RESOLVED {alert.name}"
    else:
        icon = ":rotating_light:" if alert.labels.get("severity") == "critical" else ":warning:"
        head = f"{icon} {alert.name}"
    tier = f" tier={alert.labels['tier']}" if "tier" in alert.labels else ""
    return {"text": f"{head} [{alert.labels['service']} {alert.labels['source']}{tier}] "
                    f"{alert.summary}"}


def json_payload(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "alertname": alert.name,
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "summary": alert.summary,
        "startsAt": iso(alert.starts_at_s),
        "endsAt": None if alert.ends_at_s is None else iso(alert.ends_at_s),
        "event": dict(alert.event),
    }


def alertmanager_payload(alerts: list[Alert]) -> list[dict[str, Any]]:
    """The body of `POST /api/v2/alerts` (postableAlerts): a JSON list."""
    body = []
    for alert in alerts:
        item: dict[str, Any] = {
            "labels": dict(alert.labels),
            "annotations": {"summary": alert.summary, "fingerprint": alert.fingerprint},
            "startsAt": iso(alert.starts_at_s),
        }
        if alert.ends_at_s is not None:
            item["endsAt"] = iso(alert.ends_at_s)
        body.append(item)
    return body


def alertmanager_endpoint(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/api/v2/alerts") else base + "/api/v2/alerts"


def webhook_body(alert: Alert, fmt: str) -> Any:
    if fmt == "slack":
        return slack_payload(alert)
    if fmt == "alertmanager":
        return alertmanager_payload([alert])
    return json_payload(alert)
