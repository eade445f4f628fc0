"""OpenTelemetry as a subscriber of the event buses: `memwarden.events` counts restarts, and
`memwarden run` pushes them over OTLP/HTTP to a real local receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import memwarden.otel
from memwarden.events import Event, EventBus, EventKind
from tests.supervisor.sup_helpers import GROWS_ONCE, Running, wait_for


def restart_counts(requests: list[bytes]) -> dict[tuple[str, str], int]:
    """(source, reason) -> the cumulative count of restart events, from OTLP request bodies."""
    counts: dict[tuple[str, str], int] = {}
    for body in requests:
        export = ExportMetricsServiceRequest.FromString(body)
        for resource in export.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != memwarden.otel.EVENTS_COUNTER:
                        continue
                    for point in metric.sum.data_points:
                        attrs = {a.key: a.value.string_value for a in point.attributes}
                        if attrs.get("memwarden.event.kind") == "restart":
                            key = (attrs["memwarden.source"], attrs["memwarden.restart.reason"])
                            counts[key] = max(counts.get(key, 0), int(point.as_int))
    return counts


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/v1/metrics":
                received.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_count_events_on_a_real_bus() -> None:
    reader = InMemoryMetricReader()
    bus = EventBus()
    unsubscribe = memwarden.otel.count_events(bus, MeterProvider(metric_readers=[reader]))
    for reason in ("memory", "memory", "crash"):
        bus.publish(Event(EventKind.RESTART, time.time(), "restart", source="supervisor:web",
                          figures={"reason": reason}))
    bus.publish(Event(EventKind.TIER, time.time(), "tier", source="guardian"))
    unsubscribe()
    bus.publish(Event(EventKind.RESTART, time.time(), "after", figures={"reason": "memory"}))
    data = reader.get_metrics_data()
    assert data is not None
    points = {tuple(sorted((p.attributes or {}).items())): p.value
              for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
              if m.name == "memwarden.events" for p in m.data.data_points}

    def key(kind: str, source: str, reason: str | None = None) -> tuple[tuple[str, str], ...]:
        attrs = {"memwarden.event.kind": kind, "memwarden.source": source}
        if reason is not None:
            attrs["memwarden.restart.reason"] = reason
        return tuple(sorted(attrs.items()))

    assert points == {key("restart", "supervisor:web", "memory"): 2,
                      key("restart", "supervisor:web", "crash"): 1, key("tier", "guardian"): 1}


def test_memwarden_run_pushes_its_memory_restart_over_otlp(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path, collector: tuple[str, list[bytes]],
) -> None:
    url, received = collector
    sup = supervise("--limit", "150M", command=[*script("grows", GROWS_ONCE), str(tmp_path / "m")],
                    OTEL_EXPORTER_OTLP_ENDPOINT=url, OTEL_METRIC_EXPORT_INTERVAL="300")
    sup.wait_log("restart (memory)")
    assert "OpenTelemetry: events counted on memwarden.events" in sup.log
    wait_for(lambda: restart_counts(list(received)).get(("supervisor:grows", "memory")),
             what="the restart counted at the collector")
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert restart_counts(received) == {("supervisor:grows", "memory"): 1}
