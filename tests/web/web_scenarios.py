"""The forced-critical scenario every server runs: real guardian, real policy, real memory."""

from __future__ import annotations

import threading
from typing import Any

from tests.web.web_helpers import CALM, Reply, Server

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Limit 1 GiB, critical at 300 MiB (hysteresis 5% of the limit: left below ~249 MiB). The app
# starts well below it; growing 300 MiB crosses it for real.
SHED_ENV = {**CALM, "MEMWARDEN_LIMIT": "1G", "MEMWARDEN_WARN": "off",
            "MEMWARDEN_CRITICAL": "300M", "MEMWARDEN_WEB_EXEMPT_PATHS": "/shrink",
            "MEMWARDEN_WEB_RETRY_AFTER": "7"}


def shedding_scenario(server: Server, headers: dict[str, str]) -> None:
    assert server.get("/").status == 200
    replies: dict[str, Reply] = {}
    slow = threading.Thread(target=lambda: replies.update(slow=server.get("/slow")))
    slow.start()
    try:
        server.wait_for(lambda: (server.workdir / "slow.started").exists(), "/slow to start")
        assert server.request("POST", "/grow?mib=300").status == 200
        server.wait_for(lambda: server.get("/ready").status == 503, "/ready to fail")

        shed = server.get("/")
        assert shed.status == 503, shed
        assert shed.headers["retry-after"] == "7"
        assert server.get("/items/1").status == 503

        health = server.get("/health")
        assert health.status == 200  # liveness: a restart is not the fix for `critical`
        assert health.headers["content-type"] == "application/health+json"
        document: dict[str, Any] = health.json()
        assert document["status"] == "warn"
        assert document["checks"]["memory:utilization"][0]["status"] == "warn"

        ready = server.get("/ready")
        assert ready.status == 503 and ready.json()["status"] == "fail"
        assert ready.json()["checks"]["memory:utilization"][0]["status"] == "fail"
    finally:
        (server.workdir / "slow.release").touch()
        slow.join(60)
    # The request in flight before memory turned critical finished normally.
    assert replies["slow"].status == 200 and replies["slow"].json() == {"slow": "done"}

    memory = server.get("/memory", headers=headers).json()
    assert memory["tier"] == "critical"
    assert memory["shed_requests"]["memory"] >= 2
    kinds = {event["kind"] for event in memory["events"]}
    assert {"tier", "shed", "action"} <= kinds  # critical ran the guardian's cleanup too
    metrics = server.get("/metrics").body.decode()
    assert 'memwarden_shed_requests_total{reason="memory"}' in metrics
    assert "memwarden_tier 2.0" in metrics

    # Memory given back: the tier falls below the hysteresis floor and shedding ends.
    assert server.request("POST", "/shrink").status == 200  # exempt path
    server.wait_for(lambda: server.get("/").status == 200, "shedding to end")
    assert server.get("/ready").status == 200
