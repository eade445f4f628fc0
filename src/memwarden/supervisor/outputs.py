"""Optional subscribers of the supervisor's bus: the trace file, alerts and OpenTelemetry.

Each loads only when configured, so an idle supervisor without them imports none of them
(threads, HTTP clients, the OTel SDK): alerts are wanted when the config has an `[alerts]`
table or the environment has a MEMWARDEN_WEBHOOK_* / MEMWARDEN_ALERT* /
MEMWARDEN_ALERTMANAGER_* variable; OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT (or its
_METRICS_ variant) is set: the events are counted on `memwarden.events` and pushed over
OTLP/HTTP. `check()` validates the alerts in the `memwarden run` process (bad value: exit 2
before anything starts); `attach()` wires everything in the lean supervisor.
"""

from __future__ import annotations

import os

# Not `from typing import ...` at run time: it costs the lean supervisor ~2 MB of RSS.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from memwarden.alerts import AlertHandle
    from memwarden.alerts.config import AlertsConfig
    from memwarden.events import Event
    from memwarden.policy import Tier
    from memwarden.sample import Sample
    from memwarden.supervisor.loop import Supervisor
    from memwarden.trace import TraceWriter

ALERT_ENV_PREFIXES = ("MEMWARDEN_WEBHOOK_", "MEMWARDEN_ALERT")  # ALERT_*, ALERTS_*, ALERTMANAGER_*
ALERTS_FLUSH_S = 2.0  # the longest the supervisor's exit waits for its last alerts
OTEL_ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


def alerts_wanted(table: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    return bool(table.get("alerts")) or any(k.startswith(ALERT_ENV_PREFIXES) for k in environ)


def alerts_config(table: Mapping[str, Any], environ: Mapping[str, str]) -> AlertsConfig | None:
    """The alerts configuration when alerts are wanted and have a URL; raises ConfigError."""
    if not alerts_wanted(table, environ):
        return None
    from memwarden.settings import ConfigFile, LoadedConfig

    config = LoadedConfig(ConfigFile(dict(table)), environ).alerts()
    return config if config.enabled else None


def check(table: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    alerts_config(table, os.environ if environ is None else environ)


class Outputs:
    """What attach() wired; close() flushes the alerts and closes the trace."""

    def __init__(self) -> None:
        self.trace: TraceWriter | None = None
        self.alerts: AlertHandle | None = None
        self.meter_provider: Any = None  # the OTel SDK's MeterProvider, when exporting

    def trace_event(self, event: Event) -> None:
        if self.trace is not None:
            from memwarden.trace import event_record

            self.trace.write(event_record(event))

    def trace_sample(self, program: str, sample: Sample, tier: Tier,
                     thresholds_bytes: dict[Tier, int | None]) -> None:
        if self.trace is not None:
            from memwarden.trace import sample_record

            self.trace.write(sample_record(sample, tier, thresholds_bytes, program))

    def close(self) -> None:
        if self.meter_provider is not None:
            self.meter_provider.shutdown()  # pushes what is counted since the last export
            self.meter_provider = None
        if self.alerts is not None:
            self.alerts.close(ALERTS_FLUSH_S)
            self.alerts = None
        if self.trace is not None:
            self.trace.close()
            self.trace = None


def attach(supervisor: Supervisor, table: Mapping[str, Any], *,
           trace_path: Path | None, environ: Mapping[str, str] | None = None) -> Outputs:
    """Subscribe the trace writer and the alert sender as configured (OSError, ConfigError)."""
    environ = os.environ if environ is None else environ
    outputs = Outputs()
    if trace_path is not None:
        from memwarden.trace import TraceWriter

        outputs.trace = TraceWriter(trace_path, os.getpid())
        supervisor.events.subscribe(outputs.trace_event)
        supervisor.events.on_sample(outputs.trace_sample)
    config = alerts_config(table, environ)
    if config is not None:
        from memwarden.alerts import attach as attach_alerts

        outputs.alerts = attach_alerts(supervisor.events, config)
        targets = " and ".join(t for t, url in (("webhook", config.url),
                                                ("Alertmanager", config.alertmanager_url)) if url)
        supervisor.sink.event("info", f"alerts: {', '.join(sorted(config.kinds))} events "
                              f"to the {targets}")
    if any(environ.get(name) for name in OTEL_ENDPOINT_ENVS):
        _attach_otel(supervisor, outputs)
    return outputs


def _attach_otel(supervisor: Supervisor, outputs: Outputs) -> None:
    import sys

    if sys.flags.no_site:  # the lean supervisor runs as `python -S`: the SDK is in site-packages
        import site

        site.main()
    try:
        from memwarden import otel

        outputs.meter_provider = otel.exporting_provider()
    except ImportError:
        supervisor.sink.event("warning", "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP "
                              "exporter is not installed: pip install 'memwarden[otel]'")
        return
    otel.count_events(supervisor.events, outputs.meter_provider)
    supervisor.sink.event("info", f"OpenTelemetry: events counted on {otel.EVENTS_COUNTER}, "
                          "pushed over OTLP/HTTP")
