"""Alert configuration: the `[alerts]` TOML sub-table and `MEMWARDEN_WEBHOOK_*` env variables.

Precedence: explicit mapping > environment > TOML `[alerts]` > defaults. Errors name the key
and the bad value (ConfigError), like the guardian's config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from memwarden.errors import ConfigError
from memwarden.units import parse_duration

AlertFormat = Literal["slack", "json", "alertmanager"]
Overflow = Literal["drop_oldest", "drop_newest"]
FORMATS: tuple[AlertFormat, ...] = ("slack", "json", "alertmanager")
OVERFLOWS: tuple[Overflow, ...] = ("drop_oldest", "drop_newest")
# Event kinds worth waking a human for; "action" and "shed" are too chatty by default.
DEFAULT_KINDS = frozenset({"tier", "restart", "oom_kill", "leak"})
ALL_KINDS = frozenset({"tier", "action", "leak", "restart", "oom_kill", "exit", "shed"})

# TOML key -> environment variable.
ENV_NAMES: dict[str, str] = {
    "url": "MEMWARDEN_WEBHOOK_URL",
    "format": "MEMWARDEN_WEBHOOK_FORMAT",
    "cooldown": "MEMWARDEN_WEBHOOK_COOLDOWN",
    "timeout": "MEMWARDEN_WEBHOOK_TIMEOUT",
    "alertmanager_url": "MEMWARDEN_ALERTMANAGER_URL",
    "resend_interval": "MEMWARDEN_ALERTMANAGER_RESEND",
    "queue_size": "MEMWARDEN_ALERT_QUEUE_SIZE",
    "overflow": "MEMWARDEN_ALERT_OVERFLOW",
    "service": "MEMWARDEN_ALERT_SERVICE",
    "kinds": "MEMWARDEN_ALERT_KINDS",
    "retries": "MEMWARDEN_ALERT_RETRIES",
    "retry_backoff": "MEMWARDEN_ALERT_RETRY_BACKOFF",
}
MAX_BACKOFF_S = 60.0  # the longest wait between two tries of one alert (before jitter)
MAX_RETRIES = 20  # with the backoff capped at a minute, 20 retries span about 20 minutes


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


def _url(key: str, value: Any) -> str | None:
    text = str(value).strip()
    if not text:
        return None
    if not text.startswith(("http://", "https://")):
        raise ConfigError(key, value, "expected an http:// or https:// URL")
    return text


def _positive_duration(key: str, value: Any, *, allow_zero: bool) -> float:
    seconds = parse_duration(value, key=key)
    if seconds == 0 and not allow_zero:
        raise ConfigError(key, value, "must be above 0")
    return seconds


def _whole(key: str, value: Any, *, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(key, value, "expected a whole number")
    text = str(value).strip()
    # ASCII digits and a length cap: int() also takes "١٢" and 4,000-digit strings.
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
        raise ConfigError(key, value, "expected a whole number")
    number = int(text)
    if number < low or (high is not None and number > high):
        bounds = f"at least {low}" if high is None else f"from {low} to {high}"
        raise ConfigError(key, value, f"must be {bounds}")
    return number


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower().replace("-", "_")
    if text not in choices:
        raise ConfigError(key, value, f"expected one of {', '.join(choices)}")
    return text


def _kinds(key: str, value: Any) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise ConfigError(key, value, "expected a list of event kinds")
    kinds = frozenset(str(item).strip() for item in items if str(item).strip())
    unknown = kinds - ALL_KINDS
    if unknown:
        raise ConfigError(key, value, f"unknown kind(s) {', '.join(sorted(unknown))}; "
                                      f"expected some of {', '.join(sorted(ALL_KINDS))}")
    return kinds


def build_alerts_config(
    values: Mapping[str, Any], *, base: AlertsConfig | None = None
) -> AlertsConfig:
    """Validate a mapping of `[alerts]` keys onto base."""
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        name = f"alerts.{key}"
        if key in ("url", "alertmanager_url"):
            changes[key] = _url(name, value)
        elif key == "format":
            changes["format"] = _choice(name, value, FORMATS)
        elif key == "overflow":
            changes["overflow"] = _choice(name, value, OVERFLOWS)
        elif key == "cooldown":
            changes["cooldown_s"] = _positive_duration(name, value, allow_zero=True)
        elif key == "timeout":
            changes["timeout_s"] = _positive_duration(name, value, allow_zero=False)
        elif key == "resend_interval":
            changes["resend_interval_s"] = _positive_duration(name, value, allow_zero=False)
        elif key == "queue_size":
            changes["queue_size"] = _whole(name, value, low=1, high=None)
        elif key == "retries":
            changes["retries"] = _whole(name, value, low=0, high=MAX_RETRIES)
        elif key == "retry_backoff":
            backoff_s = parse_duration(value, key=name)
            if not 0 < backoff_s <= MAX_BACKOFF_S:  # also refuses nan
                raise ConfigError(name, value, f"expected a duration above 0 and at most "
                                               f"{MAX_BACKOFF_S:g}s")
            changes["retry_backoff_s"] = backoff_s
        elif key == "service":
            changes["service"] = str(value)
        elif key == "kinds":
            changes["kinds"] = _kinds(name, value)
        else:
            raise ConfigError(name, value, "unknown config key")
    return replace(base or AlertsConfig(), **changes)


def load_alerts_config(
    arguments: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> AlertsConfig:
    """TOML `[alerts]`, then MEMWARDEN_WEBHOOK_* / MEMWARDEN_ALERT* env, then arguments."""
    from memwarden.config import load_section

    environ = os.environ if environ is None else environ
    config = build_alerts_config(load_section("alerts", environ=environ, config_path=config_path))
    from_env = {key: environ[env] for key, env in ENV_NAMES.items() if env in environ}
    config = build_alerts_config(from_env, base=config)
    return build_alerts_config(dict(arguments or {}), base=config)
