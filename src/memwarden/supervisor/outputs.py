"""Optional subscribers of the supervisor's bus: the trace file and alerts.

Both load only when configured, so an idle supervisor without them imports neither the alert
sender (threads, an HTTP client) nor anything else: alerts are wanted when the config has an
`[alerts]` table or the environment has a MEMWARDEN_WEBHOOK_* / MEMWARDEN_ALERT* /
MEMWARDEN_ALERTMANAGER_* variable. `check()` validates both in the `memwarden run` process
(bad value: exit 2 before anything starts); `attach()` wires them in the lean supervisor.
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
    return outputs
