"""Alerts: webhooks (Slack, generic JSON) and Alertmanager on tier transitions, restarts,
OOM kills and leaks. `attach(bus)` subscribes a sender to a guardian's or supervisor's EventBus.

Kept light: importing this package loads no HTTP client; httpx (or urllib) loads in the
sender's thread on the first POST.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from memwarden.alerts.config import AlertsConfig, load_alerts_config

if TYPE_CHECKING:
    from memwarden.alerts.sender import AlertSender
    from memwarden.events import EventBus

__all__ = ["AlertHandle", "AlertsConfig", "attach", "load_alerts_config"]


class AlertHandle:
    """What attach() returns: the running sender and a way to detach it."""

    def __init__(self, sender: AlertSender, unsubscribe: Callable[[], None]) -> None:
        self.sender = sender
        self._unsubscribe = unsubscribe

    def stats(self) -> dict[str, int]:
        return self.sender.stats()

    def flush(self, timeout_s: float = 5.0) -> bool:
        return self.sender.flush(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self._unsubscribe()
        self.sender.close(timeout_s)


def attach(
    bus: EventBus,
    config: AlertsConfig | Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> AlertHandle | None:
    """Send the bus's events as alerts. config: an AlertsConfig, a mapping of `[alerts]` keys
    (over env/TOML), or None (env/TOML only). None is returned when no URL is configured."""
    if not isinstance(config, AlertsConfig):
        config = load_alerts_config(config, environ=environ)
    if not config.enabled:
        return None
    from memwarden.alerts.sender import AlertSender  # hashlib (OpenSSL, ~3.5 MB) comes with it

    sender = AlertSender(config).start()
    return AlertHandle(sender, bus.subscribe(sender))
