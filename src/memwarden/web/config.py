"""Web settings: the `[web]` table of memwarden.toml / `[tool.memwarden.web]`, `MEMWARDEN_WEB_*`
env and keyword options of the middleware (options > env > TOML > defaults)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from memwarden.config import ENV_PREFIX, OFF_WORDS, load_section
from memwarden.errors import ConfigError
from memwarden.units import parse_bool, parse_size

WEB_ENV_PREFIX = ENV_PREFIX + "WEB_"
ADMIN_TOKEN_ENV = ENV_PREFIX + "ADMIN_TOKEN"


@dataclass(frozen=True, slots=True)
class WebConfig:
    prefix: str = ""  # prepended to every endpoint path, e.g. "/_memwarden"
    health_path: str = "/health"
    ready_path: str = "/ready"
    memory_path: str = "/memory"  # admin POSTs live under it: /memory/gc, /cleanup, /snapshot
    metrics_path: str = "/metrics"
    endpoints: bool = True  # serve the endpoints above at all
    metrics: bool = True  # serve /metrics (needs prometheus_client, the `web` extra)
    admin_token: str | None = None  # MEMWARDEN_ADMIN_TOKEN; None: admin POSTs answer 404
    public_details: bool = False  # /memory details without the token
    shed: bool = True  # 503 + Retry-After under `critical`
    retry_after_s: int = 5
    max_concurrency: int | None = None  # 503 beyond this many requests in flight (per worker)
    max_body_bytes: int | None = None  # 413 beyond this request body size
    exempt_paths: tuple[str, ...] = ()  # never shed (the health paths always are)
    attribution: bool = True  # per-route memory deltas in /memory
    attribution_every: int = 16  # measure one request in this many (1: every request)
    top_routes: int = 10
    max_routes: int = 200  # distinct route templates kept; later ones go to "<other>"
    start_guardian: bool = True  # the ASGI lifespan / Flask / Django app start memwarden.start()

    def path(self, name: str) -> str:
        return self.prefix + str(getattr(self, name + "_path"))


_BOOL_KEYS = {"endpoints", "metrics", "public_details", "shed", "attribution", "start_guardian"}
_PATH_KEYS = {"prefix", "health_path", "ready_path", "memory_path", "metrics_path"}
_INT_KEYS = {"retry_after_s", "top_routes", "max_routes", "attribution_every"}
# TOML/env spelling -> field name, for the keys whose field carries a unit suffix.
_ALIASES = {
    "retry_after": "retry_after_s",
    "max_body": "max_body_bytes",
    "max_body_size": "max_body_bytes",
}


def _path(key: str, value: Any) -> str:
    text = str(value).strip()
    if key == "prefix":
        text = text.rstrip("/")
        if text and not text.startswith("/"):
            raise ConfigError(key, value, "a prefix must start with /")
        return text
    if not text.startswith("/") or "?" in text or "#" in text:
        raise ConfigError(key, value, "a path must start with / and hold no query")
    return text


def _positive_int(key: str, value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(key, value, "expected a whole number") from None
    if number <= 0:
        raise ConfigError(key, value, "must be above 0")
    return number


def build_web_config(values: Mapping[str, Any], *, base: WebConfig | None = None) -> WebConfig:
    """Validate a mapping of web keys (TOML spelling or field names) onto base."""
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        if value is None:
            continue
        key = _ALIASES.get(raw_key, raw_key)
        if key in _BOOL_KEYS:
            changes[key] = parse_bool(value, key=raw_key)
        elif key in _PATH_KEYS:
            changes[key] = _path(raw_key, value)
        elif key in _INT_KEYS:
            changes[key] = _positive_int(raw_key, value)
        elif key == "max_concurrency":
            off = str(value).strip().lower() in OFF_WORDS
            changes[key] = None if off else _positive_int(raw_key, value)
        elif key == "max_body_bytes":
            off = str(value).strip().lower() in OFF_WORDS
            changes[key] = None if off else parse_size(value, key=raw_key)
        elif key == "admin_token":
            token = str(value)
            changes[key] = token if token.strip() else None
        elif key == "exempt_paths":
            items = value.split(",") if isinstance(value, str) else list(value)
            changes[key] = tuple(_path(raw_key, item) for item in items if str(item).strip())
        else:
            raise ConfigError(f"web.{raw_key}", value, "unknown web config key")
    return replace(base or WebConfig(), **changes)


def web_env_table(environ: Mapping[str, str]) -> dict[str, str]:
    """`MEMWARDEN_WEB_MAX_CONCURRENCY=64` -> {"max_concurrency": "64"}; plus the admin token."""
    table = {
        name[len(WEB_ENV_PREFIX):].lower(): value
        for name, value in environ.items()
        if name.startswith(WEB_ENV_PREFIX)
    }
    if ADMIN_TOKEN_ENV in environ:
        table["admin_token"] = environ[ADMIN_TOKEN_ENV]
    return table


def load_web_config(
    options: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> WebConfig:
    environ = os.environ if environ is None else environ
    table = load_section("web", environ=environ, config_path=config_path)
    config = build_web_config(table)
    config = build_web_config(web_env_table(environ), base=config)
    return build_web_config(dict(options or {}), base=config)
