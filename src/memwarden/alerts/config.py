"""Alert configuration: the `[alerts]` table and `MEMWARDEN_ALERTS_<KEY>` variables (the older
`MEMWARDEN_WEBHOOK_*`, `MEMWARDEN_ALERT_*` and `MEMWARDEN_ALERTMANAGER_*` names still work).

Precedence: explicit mapping > environment > TOML `[alerts]` > defaults; the settings are
declared in memwarden.settings.declared_sections.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from memwarden.settings.declared_sections import ALERT_KINDS, MAX_BACKOFF_S, MAX_RETRIES

if TYPE_CHECKING:
    from memwarden.settings.load import Resolved

__all__ = ["MAX_BACKOFF_S", "MAX_RETRIES", "AlertsConfig", "alerts_from", "load_alerts_config"]

AlertFormat = Literal["slack", "json", "alertmanager"]
Overflow = Literal["drop_oldest", "drop_newest"]
# Event kinds worth waking a human for; "action" and "shed" are too chatty by default.
DEFAULT_KINDS = frozenset({"tier", "restart", "oom_kill", "leak"})
ALL_KINDS = frozenset(ALERT_KINDS)


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    url: str | None = None  # webhook receiving `format` payloads (Slack, generic JSON, ...)
    format: AlertFormat = "slack"
    alertmanager_url: str | None = None  # base URL; alerts go to <url>/api/v2/alerts
    cooldown_s: float = 300.0  # the same alert (fingerprint) fires at most once per cooldown
    timeout_s: float = 5.0  # every HTTP request, connect + read
    resend_interval_s: float = 60.0  # Alertmanager: firing alerts are re-posted this often
    queue_size: int = 100
    overflow: Overflow = "drop_oldest"
    service: str = field(default_factory=lambda: os.uname().nodename)  # gethostname(), no socket
    kinds: frozenset[str] = DEFAULT_KINDS
    # A refused connection, a timeout or a 5xx is retried this many times, after
    # retry_backoff_s, then twice that, ... (capped, jittered); a 429 waits for its Retry-After.
    retries: int = 5
    retry_backoff_s: float = 1.0

    @property
    def enabled(self) -> bool:
        return self.url is not None or self.alertmanager_url is not None


def alerts_from(resolved: Resolved) -> AlertsConfig:
    fields = resolved.fields()
    fields["service"] = fields["service"] or os.uname().nodename
    return AlertsConfig(**fields)


def load_alerts_config(
    arguments: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> AlertsConfig:
    """TOML `[alerts]`, then MEMWARDEN_ALERTS_<KEY> (or the older names), then arguments."""
    from memwarden.settings import load

    return load(config_path, environ).alerts(arguments)
