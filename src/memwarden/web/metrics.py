"""Prometheus metrics (prometheus_client, the `web` extra, imported on first use).

`memwarden_` names in base units. In gunicorn multiprocess mode (PROMETHEUS_MULTIPROC_DIR set)
/metrics aggregates every worker's values with MultiProcessCollector; each gauge's
multiprocess_mode says how: the container-wide figures take the max over live workers, the
per-worker tree RSS keeps a `pid` label (bounded by the worker count), counters are summed over
all workers, dead ones included (a worker that exited for a memory restart still counts).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memwarden.guardian import Guardian

MULTIPROC_ENV = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def multiprocess_dir() -> str | None:
    for name in MULTIPROC_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None


class WebMetrics:
    def __init__(self, refresh_interval_s: float = 1.0) -> None:
        from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

        self.multiprocess = multiprocess_dir() is not None
        # Single process: the default registry, so the standard process/platform collectors and
        # the app's own metrics come along. Multiprocess: values live in mmap files; the
        # exposition registry is built per scrape.
        registry: CollectorRegistry | None = None if self.multiprocess else REGISTRY

        def gauge(name: str, doc: str, mode: Any, labels: tuple[str, ...] = ()) -> Any:
            return Gauge(name, doc, labels, registry=registry, multiprocess_mode=mode)

        self.tree_rss = gauge("memwarden_tree_rss_bytes",
                              "RSS of this worker and its descendants", "liveall")
        self.working_set = gauge("memwarden_working_set_bytes",
                                 "Container working set (usage - inactive_file)", "livemax")
        self.measured = gauge("memwarden_measured_bytes",
                              "The figure the policy compares with the limit", "livemax")
        self.limit = gauge("memwarden_limit_bytes",
                           "Effective memory limit (budget, cgroup or machine)", "livemin")
        self.headroom = gauge("memwarden_headroom_bytes", "Limit minus measured figure",
                              "livemin")
        self.usage = gauge("memwarden_usage_ratio", "Measured figure / limit (0-1)", "livemax")
        self.tier = gauge("memwarden_tier",
                          "Memory tier: 0 ok, 1 warn, 2 critical, 3 restart", "livemax")
        self.leak_rate = gauge("memwarden_leak_rate_bytes_per_second",
                               "Growth rate of the latest detected leak (0: none)", "livemax")
        self.leak_eta = gauge("memwarden_leak_eta_seconds",
                              "Seconds until a detected leak reaches the limit (+Inf: none)",
                              "livemin")
        self.in_flight = gauge("memwarden_in_flight_requests", "Requests being served",
                               "livesum")
        self.restarts = Counter("memwarden_restarts_total",
                                "Memory restarts this process began", registry=registry)
        self.shed = Counter("memwarden_shed_requests_total",
                            "Requests refused by load shedding", ("reason",), registry=registry)
        self.refresh_interval_s = refresh_interval_s
        self._subscribed_to: int | None = None
        self._following: int | None = None  # the guardian whose samples refresh the gauges
        self._in_flight_of: Callable[[], int] = lambda: 0
        self._lock = threading.Lock()

    def count_shed(self, reason: str) -> None:
        self.shed.labels(reason).inc()

    def refresh(self, in_flight: int) -> None:
        from memwarden.web.state import current_status, latest_leak, running_guardian

        guardian = running_guardian()
        self._subscribe(guardian)
        status = current_status()
        sample = status.sample
        for gauge, value in (
            (self.tree_rss, sample.tree.rss_bytes if sample.tree else None),
            (self.working_set, sample.cgroup.working_set_bytes if sample.cgroup else None),
            (self.measured, sample.measured_bytes),
            (self.limit, sample.limit.limit_bytes),
            (self.headroom, sample.headroom_bytes),
            (self.usage, sample.usage_ratio),
        ):
            if value is not None:
                gauge.set(value)
        self.tier.set(int(status.tier))
        leak = latest_leak(guardian)
        if leak is None or not leak.leaking:
            leak = None
        rate = leak.rate_bytes_per_s if leak is not None else None
        self.leak_rate.set(0.0 if rate is None else rate)
        eta = leak.eta_s if leak is not None else None
        self.leak_eta.set(math.inf if eta is None else eta)
        self.in_flight.set(in_flight)

    def follow(self, guardian: Guardian, in_flight: Callable[[], int]) -> None:
        """Refresh after each of the guardian's samples, in its thread: requests then cost
        nothing here, and an idle worker's gauges stay current (multiprocess mode). Once per
        guardian; in_flight is the latest app's count."""
        self._in_flight_of = in_flight
        self.refresh(in_flight())
        with self._lock:
            if self._following == id(guardian):
                return
            self._following = id(guardian)
        guardian.on_sample(self._on_sample)

    def _on_sample(self, sample: object) -> None:
        self.refresh(self._in_flight_of())

    def _subscribe(self, guardian: Guardian | None) -> None:
        if guardian is None or self._subscribed_to == id(guardian):
            return
        with self._lock:
            if self._subscribed_to == id(guardian):
                return
            self._subscribed_to = id(guardian)

        def on_event(event: Any) -> None:
            if event.kind == "restart":
                self.restarts.inc()

        guardian.events.subscribe(on_event)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        from prometheus_client import REGISTRY, CollectorRegistry
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept or "")
        if not self.multiprocess:
            return encoder(REGISTRY), content_type
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type


_metrics: WebMetrics | None = None
_metrics_lock = threading.Lock()


def get_metrics() -> WebMetrics | None:
    """The process's metrics (one set: prometheus_client refuses duplicate names), or None
    when prometheus_client is not installed (/metrics then answers 501)."""
    global _metrics
    with _metrics_lock:
        if _metrics is None:
            try:
                _metrics = WebMetrics()
            except ImportError:
                return None
        return _metrics


def child_exit(server: object, worker: Any) -> None:
    """gunicorn `child_exit` hook: drop a dead worker's live* gauges in multiprocess mode."""
    if multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
