"""A receiver that is down is reported in the log at most once a minute, not once per alert."""

from __future__ import annotations

import logging
import time

import pytest

from memwarden.alerts import AlertsConfig, attach
from memwarden.events import Event, EventBus

# Fixtures come from the helper module: a conftest.py here would shadow tests/conftest.py.


def test_a_down_receiver_is_logged_once_for_many_failed_alerts(
    down_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = EventBus()
    handle = attach(bus, AlertsConfig(url=down_url, format="json", retries=0, service="svc"))
    assert handle is not None
    try:
        with caplog.at_level(logging.WARNING, logger="memwarden"):
            for n in range(12):  # distinct sources: twelve distinct alerts, none deduplicated
                bus.publish(Event(kind="leak", time_s=time.time(), message=f"l{n}",
                                  source=f"p{n}"))
            assert handle.flush(30)
        assert handle.stats()["failed"] == 12
        lines = [r.getMessage() for r in caplog.records if "alerts:" in r.getMessage()]
        assert len(lines) == 1, lines
        assert "failed" in lines[0]
    finally:
        handle.close(timeout_s=2)
