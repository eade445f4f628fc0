"""Declared settings of the [web], [alerts], [leak] and [worker] tables."""

from __future__ import annotations

from memwarden.errors import ConfigError
from memwarden.settings.numbers import Duration, Int, Size, Threshold
from memwarden.settings.registry import Setting
from memwarden.settings.types import Bool, Choice, Custom, FilePath, Text, Url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MS = 0.001
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
ALERT_KINDS = ("tier", "action", "leak", "restart", "oom_kill", "exit", "shed")
MAX_BACKOFF_S = 60.0  # the longest wait between two tries of one alert (before jitter)
MAX_RETRIES = 20  # with the backoff capped at a minute, 20 retries span about 20 minutes


def _items(value: Any, key: str, what: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(key, value, f"expected {what}")
    return [item.strip() for item in items if item.strip()]


def web_path(value: Any, key: str, *, prefix: bool = False) -> str:
    text = str(value).strip() if isinstance(value, str) else None
    if text is None or len(text) > 512:
        raise ConfigError(key, value, "expected a path such as /health")
    if prefix:
        text = text.rstrip("/")
        if text and not text.startswith("/"):
            raise ConfigError(key, value, "expected a prefix starting with /, such as /ops")
        return text
    if not text.startswith("/") or "?" in text or "#" in text:
        raise ConfigError(key, value, "expected a path starting with /, without a query")
    return text


def _exempt(value: Any, key: str) -> tuple[str, ...]:
    return tuple(web_path(item, key) for item in _items(value, key, "a list of paths"))


def _kinds(value: Any, key: str) -> frozenset[str]:
    kinds = frozenset(_items(value, key, "a list of event kinds"))
    if kinds - set(ALERT_KINDS):
        raise ConfigError(key, value, "expected some of " + ", ".join(ALERT_KINDS))
    return kinds


def _signal(value: Any, key: str) -> str:
    from memwarden.leak.trigger import parse_signal

    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(key, value, "expected a signal name such as SIGUSR2, or off")
    parse_signal(value, key=key)
    return str(value)


def _web(key: str, conv: Any, default: Any, help: str, **kw: Any) -> Setting:
    return Setting("web", key, conv, default, help, **kw)


def _path(prefix: bool = False) -> Custom:
    return Custom(lambda v, k: web_path(v, k, prefix=prefix), "a path starting with /",
                  metavar="PATH")


WEB = [
    _web("prefix", _path(prefix=True), "", "prepended to every endpoint path, e.g. /_memwarden"),
    _web("health_path", _path(), "/health", "liveness endpoint"),
    _web("ready_path", _path(), "/ready", "readiness endpoint (503 under critical)"),
    _web("memory_path", _path(), "/memory",
         "memory details; admin POSTs live under it: /gc, /cleanup, /snapshot"),
    _web("metrics_path", _path(), "/metrics", "Prometheus metrics"),
    _web("endpoints", Bool(), "true", "serve the endpoints above at all"),
    _web("metrics", Bool(), "true", "serve metrics (needs prometheus_client, the web extra)"),
    _web("admin_token", Text("a token", empty_is_none=True), None,
         "bearer token for the admin POSTs; unset: they answer 404",
         aliases=("MEMWARDEN_ADMIN_TOKEN",)),
    _web("public_details", Bool(), "false", "memory details without the token"),
    _web("shed", Bool(), "true", "answer 503 + Retry-After under critical"),
    _web("retry_after", Int(1, 86400), "5", "Retry-After seconds of a shed request",
         field="retry_after_s", aliases=("MEMWARDEN_WEB_RETRY_AFTER_S",)),
    _web("max_concurrency", Int(1, 1_000_000, off=True), None,
         "503 beyond this many requests in flight (per worker)"),
    _web("max_body", Size(1, 1024**4, off=True), None, "413 beyond this request body size",
         field="max_body_bytes",
         aliases=("MEMWARDEN_WEB_MAX_BODY_BYTES", "MEMWARDEN_WEB_MAX_BODY_SIZE")),
    _web("exempt_paths", Custom(_exempt, "a list of paths (comma-separated in env)"), None,
         "paths never shed (the health paths never are)"),
    _web("attribution", Bool(), "true", "per-route memory deltas in the memory endpoint"),
    _web("attribution_every", Int(1, 1_000_000), "64",
         "measure one request in this many for route attribution (1: every request)"),
    _web("top_routes", Int(1, 1000), "10", "routes listed in the memory endpoint"),
    _web("max_routes", Int(1, 100_000), "200",
         "distinct route templates kept; later ones count as <other>"),
    _web("start_guardian", Bool(), "true",
         "the ASGI lifespan / Flask / Django app starts memwarden.start()"),
]


def _alert(key: str, conv: Any, default: Any, help: str, old: str, **kw: Any) -> Setting:
    return Setting("alerts", key, conv, default, help, aliases=(old,), **kw)


ALERTS = [
    _alert("url", Url(), None, "webhook that receives format payloads",
           "MEMWARDEN_WEBHOOK_URL"),
    _alert("format", Choice("slack", "json", "alertmanager"), "slack", "webhook payload format",
           "MEMWARDEN_WEBHOOK_FORMAT"),
    _alert("alertmanager_url", Url(), None, "Alertmanager base URL (posts to /api/v2/alerts)",
           "MEMWARDEN_ALERTMANAGER_URL"),
    _alert("cooldown", Duration(0, DAY), "5m", "the same alert fires at most once per cooldown",
           "MEMWARDEN_WEBHOOK_COOLDOWN", field="cooldown_s"),
    _alert("timeout", Duration(10 * MS, 5 * MIN), "5s", "every HTTP request, connect + read",
           "MEMWARDEN_WEBHOOK_TIMEOUT", field="timeout_s"),
    _alert("resend_interval", Duration(1, DAY), "1m",
           "Alertmanager: firing alerts are re-posted this often",
           "MEMWARDEN_ALERTMANAGER_RESEND", field="resend_interval_s"),
    _alert("queue_size", Int(1, 100_000), "100", "alerts waiting to be sent",
           "MEMWARDEN_ALERT_QUEUE_SIZE"),
    _alert("overflow", Choice("drop_oldest", "drop_newest"), "drop_oldest",
           "which alert a full queue drops", "MEMWARDEN_ALERT_OVERFLOW"),
    _alert("service", Text("a service name", max_length=256, empty_is_none=True), None,
           "the service label (default: the host name)", "MEMWARDEN_ALERT_SERVICE"),
    _alert("kinds", Custom(_kinds, "some of " + ", ".join(ALERT_KINDS), metavar="KINDS",
                           show=lambda v: ",".join(sorted(v))),
           "tier,restart,oom_kill,leak", "event kinds that become alerts",
           "MEMWARDEN_ALERT_KINDS"),
    _alert("retries", Int(0, MAX_RETRIES), "5",
           "tries after a refused connection, a timeout or a 5xx (a 429 waits for Retry-After)",
           "MEMWARDEN_ALERT_RETRIES"),
    _alert("retry_backoff", Duration(MS, MAX_BACKOFF_S), "1s",
           "wait before the first retry, doubled per failure (capped at 1m, jittered)",
           "MEMWARDEN_ALERT_RETRY_BACKOFF", field="retry_backoff_s"),
]

LEAK = [
    Setting("leak", "enabled", Bool(), "true", "run the leak watch in the guardian"),
    Setting("leak", "min_window", Duration(1, 30 * DAY), "1m",
            "no leak verdict on less history than this (the start-up grace)",
            field="min_window_s"),
    Setting("leak", "trace_window", Duration(10 * MS, HOUR, off=True), "20s",
            "tracemalloc window after a detection", field="trace_window_s"),
    Setting("leak", "full_census", Bool(), "false",
            "count types in every leak census (one unsliced gc.get_objects() pause), not only "
            "when no growing container names the leak"),
    Setting("leak", "restart_before_oom", Bool(), "false",
            "restart at a quiet moment before the peaks reach the limit"),
    Setting("leak", "restart_margin", Duration(1, 7 * DAY), "10m",
            "... when they would reach it within this", field="restart_margin_s"),
    Setting("leak", "snapshot_signal",
            Custom(_signal, "a signal name such as SIGUSR2, or off", metavar="SIGNAL"),
            "SIGUSR2", "the signal that writes a heap snapshot",
            aliases=("MEMWARDEN_SNAPSHOT_SIGNAL",)),
    Setting("leak", "snapshot_dir", FilePath("dir"), None,
            "where heap snapshots are written (default: the current directory)",
            aliases=("MEMWARDEN_SNAPSHOT_DIR",)),
]

WORKER = [
    Setting("worker", "max_memory", Threshold(), None,
            "recycle a worker whose process tree passes this (a size, or % of the limit)"),
    Setting("worker", "check_every", Int(1, 1_000_000), "1",
            "measure after every Nth request or task"),
    Setting("worker", "check_interval", Duration(10 * MS, HOUR), "1s",
            "watcher period, for worker classes without a per-request hook",
            field="interval_s"),
]

SETTINGS = [*WEB, *ALERTS, *LEAK, *WORKER]
