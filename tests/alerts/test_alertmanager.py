"""Alertmanager v2: payload shape, re-sent while firing, resolved with endsAt."""

from __future__ import annotations

import time
from datetime import datetime

from memwarden.alerts import AlertsConfig, attach
from memwarden.events import Event, EventBus

# Fixtures come from the helper module: a conftest.py here would shadow tests/conftest.py.
from tests.alerts.alerts_receiver import Receiver


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_fire_resend_resolve(receiver: Receiver) -> None:
    bus = EventBus()
    config = AlertsConfig(alertmanager_url=receiver.url, service="api", resend_interval_s=0.2)
    handle = attach(bus, config)
    assert handle is not None
    try:
        bus.publish(Event(kind="tier", time_s=time.time(), message="tier ok -> critical",
                          tier="critical", source="guardian", figures={"previous": "ok"}))
        first, resend = receiver.wait_for(2)[:2]  # the post, then at least one re-send
        assert first.path == "/api/v2/alerts"
        assert isinstance(first.body, list) and len(first.body) == 1
        alert = first.body[0]
        assert alert["labels"] == {"alertname": "MemwardenMemoryTier", "service": "api",
                                   "source": "guardian", "tier": "critical",
                                   "severity": "critical"}
        assert alert["annotations"]["summary"] == "tier ok -> critical"
        assert "endsAt" not in alert
        parse_iso(alert["startsAt"])
        assert resend.body[0]["labels"] == alert["labels"]
        assert resend.body[0]["startsAt"] == alert["startsAt"]  # same alert, not a new one

        bus.publish(Event(kind="tier", time_s=time.time(), message="tier critical -> ok",
                          tier="ok", source="guardian", figures={"previous": "critical"}))
        deadline = time.monotonic() + 30
        resolved = None
        while resolved is None and time.monotonic() < deadline:
            with receiver.cond:
                for request in receiver.requests:
                    if "endsAt" in request.body[0]:
                        resolved = request.body[0]
                if resolved is None:
                    receiver.cond.wait(1)
        assert resolved is not None, "no resolve with endsAt arrived"
        assert resolved["labels"] == alert["labels"]
        assert parse_iso(resolved["endsAt"]) >= parse_iso(resolved["startsAt"])
    finally:
        handle.close(timeout_s=2)


def test_webhook_and_alertmanager_both_receive(receiver: Receiver) -> None:
    bus = EventBus()
    config = AlertsConfig(url=receiver.url + "/slack", format="slack",
                          alertmanager_url=receiver.url + "/", service="bot")
    handle = attach(bus, config)
    assert handle is not None
    try:
        bus.publish(Event(kind="oom_kill", time_s=time.time(), message="chromium OOM-killed",
                          source="supervisor:bot"))
        assert handle.flush(30)
        by_path = {r.path: r.body for r in receiver.requests}
        assert set(by_path) == {"/slack", "/api/v2/alerts"}
        assert "chromium OOM-killed" in by_path["/slack"]["text"]
        one_shot = by_path["/api/v2/alerts"][0]
        assert one_shot["labels"]["alertname"] == "MemwardenOOMKill"
        # A one-shot alert carries its own expiry so Alertmanager resolves it by itself.
        assert parse_iso(one_shot["endsAt"]) > parse_iso(one_shot["startsAt"])
    finally:
        handle.close(timeout_s=2)
