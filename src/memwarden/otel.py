"""OpenTelemetry: memwarden's figures as observable gauges of the OTel metrics SDK (extra `otel`).

    import memwarden.otel
    memwarden.otel.install()                 # the global MeterProvider
    memwarden.otel.install(meter_provider)   # or yours

Instruments (semantic-convention names where one exists):
  process.memory.usage          By  RSS of this process
  process.memory.virtual        By  virtual size of this process
  container.memory.working_set  By  the cgroup's usage - inactive_file, as kubelet computes it
  memwarden.memory.tree_rss     By  RSS of this process and its descendants
  memwarden.memory.limit        By  the effective limit (attribute memwarden.limit.source)
  memwarden.memory.headroom     By  limit - the measured figure
  memwarden.memory.usage_ratio  1   measured / limit
  memwarden.memory.tier         1   0 ok, 1 warn, 2 critical, 3 restart
A figure that cannot be read is left out of that collection, never reported as 0.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from memwarden.policy import PolicyState, Tier, evaluate
from memwarden.sample import Sample, Sampler

if TYPE_CHECKING:
    from memwarden.config import GuardConfig
    from memwarden.events import Event, EventBus
    from memwarden.guardian import Guardian

METER_NAME = "memwarden"


class _Figures:
    """One sample shared by all gauges of a collection: gauges are read one after another, and
    sampling the tree once per collection instead of eight times keeps a scrape cheap."""

    def __init__(self, guardian: Guardian | None, config: GuardConfig | None, max_age_s: float):
        self._guardian = guardian
        self._config = config
        self._max_age_s = max_age_s
        self._sampler: Sampler | None = None
        self._state = PolicyState()
        self._lock = threading.Lock()
        self._latest: tuple[float, Sample, Tier] | None = None

    def get(self) -> tuple[Sample, Tier]:
        with self._lock:
            now_s = time.monotonic()
            if self._latest is None or now_s - self._latest[0] > self._max_age_s:
                sample, tier = self._read()
                self._latest = (now_s, sample, tier)
            return self._latest[1], self._latest[2]

    def _read(self) -> tuple[Sample, Tier]:
        from memwarden import guardian as guardian_module

        running = self._guardian or guardian_module.current()
        if running is not None and running.running:
            status = running.status()  # the guardian's own latest sample: no extra reading
            return status.sample, status.tier
        if self._config is None:
            from memwarden.config import load_guard_config

            self._config = load_guard_config()
        if self._sampler is None:
            self._sampler = Sampler(pid=os.getpid(), budget_bytes=self._config.limit_bytes,
                                    metric=self._config.metric)
        sample = self._sampler.sample()
        if sample.measured_bytes is not None:
            # Pure policy, no actions: an exporter must never clean up or restart anything.
            self._state, _ = evaluate(self._state, measured_bytes=sample.measured_bytes,
                                      limit_bytes=sample.limit.limit_bytes,
                                      now_s=sample.monotonic_s, config=self._config.policy())
        return sample, self._state.tier


def _root_process(sample: Sample) -> Any:
    return sample.tree.processes[0] if sample.tree and sample.tree.processes else None


Reader = Callable[[], tuple[Any, dict[str, str]]]


def _rss(sample: Sample, _: Tier) -> int | None:
    return getattr(_root_process(sample), "rss_bytes", None)


def _vms(sample: Sample, _: Tier) -> int | None:
    return getattr(_root_process(sample), "vms_bytes", None)


def _readers(figures: _Figures) -> dict[str, tuple[str, str, Reader]]:
    def value(fn: Callable[[Sample, Tier], Any]) -> Reader:
        def read() -> tuple[Any, dict[str, str]]:
            sample, tier = figures.get()
            return fn(sample, tier), {}

        return read

    def limit() -> tuple[Any, dict[str, str]]:
        sample, _ = figures.get()
        return sample.limit.limit_bytes, {"memwarden.limit.source": sample.limit.source or "none"}

    return {
        "process.memory.usage": ("By", "Resident memory of this process",
                                 value(_rss)),
        "process.memory.virtual": ("By", "Virtual memory of this process",
                                   value(_vms)),
        "container.memory.working_set": (
            "By", "Container working set (usage - inactive_file)",
            value(lambda s, _: s.cgroup.working_set_bytes if s.cgroup else None)),
        "memwarden.memory.tree_rss": ("By", "RSS of this process and its descendants",
                                      value(lambda s, _: s.tree.rss_bytes if s.tree else None)),
        "memwarden.memory.limit": ("By", "Effective memory limit", limit),
        "memwarden.memory.headroom": ("By", "Effective limit minus the measured figure",
                                      value(lambda s, _: s.headroom_bytes)),
        "memwarden.memory.usage_ratio": ("1", "Measured figure / effective limit",
                                         value(lambda s, _: s.usage_ratio)),
        "memwarden.memory.tier": ("1", "Memory tier: 0 ok, 1 warn, 2 critical, 3 restart",
                                  value(lambda _, t: int(t))),
    }


def install(
    meter_provider: Any = None,
    *,
    guardian: Guardian | None = None,
    config: GuardConfig | None = None,
    max_age_s: float = 0.5,
) -> Any:
    """Register memwarden's observable gauges on meter_provider (the global one by default)
    and return the Meter. Figures come from the running guardian when there is one."""
    from opentelemetry import metrics
    from opentelemetry.metrics import CallbackOptions, Observation

    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    from memwarden import __version__

    meter = provider.get_meter(METER_NAME, __version__)
    figures = _Figures(guardian, config, max_age_s)

    def callback(read: Reader) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            figure, attributes = read()
            return [] if figure is None else [Observation(figure, attributes)]

        return observe

    for name, (unit, description, read) in _readers(figures).items():
        meter.create_observable_gauge(name, callbacks=[callback(read)], unit=unit,
                                      description=description)
    return meter


EVENTS_COUNTER = "memwarden.events"


def count_events(bus: EventBus, meter_provider: Any = None) -> Callable[[], None]:
    """Count bus's events on the counter `memwarden.events` (attributes `memwarden.event.kind`,
    `memwarden.source`, and `memwarden.restart.reason` for restarts and OOM kills); returns
    the unsubscribe function. Restarts of `memwarden run` reach OTel this way."""
    from opentelemetry import metrics

    from memwarden import __version__

    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    counter = provider.get_meter(METER_NAME, __version__).create_counter(
        EVENTS_COUNTER, unit="1", description="memwarden events by kind (restarts, OOM kills, "
        "tier changes, leaks...)")

    def on_event(event: Event) -> None:
        attributes = {"memwarden.event.kind": str(event.kind), "memwarden.source": event.source}
        reason = event.figures.get("reason")
        if isinstance(reason, str):
            attributes["memwarden.restart.reason"] = reason
        counter.add(1, attributes)

    return bus.subscribe(on_event)


def exporting_provider() -> Any:
    """A MeterProvider that pushes to the OTLP/HTTP endpoint of the standard OTEL_EXPORTER_OTLP_*
    variables, every OTEL_METRIC_EXPORT_INTERVAL ms (needs opentelemetry-exporter-otlp-proto-http);
    for a process with no SDK set up of its own, such as `memwarden run`. shutdown() flushes."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    return MeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
