"""Web settings: the `[web]` table of memwarden.toml / `[tool.memwarden.web]`,
`MEMWARDEN_WEB_<KEY>` env and keyword options of the middleware (options > env > TOML >
defaults); declared in memwarden.settings.declared_sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from memwarden.settings.load import Resolved


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
    attribution_every: int = 64  # measure one request in this many (1: every request)
    top_routes: int = 10
    max_routes: int = 200  # distinct route templates kept; later ones go to "<other>"
    start_guardian: bool = True  # the ASGI lifespan / Flask / Django app start memwarden.start()

    def path(self, name: str) -> str:
        return self.prefix + str(getattr(self, name + "_path"))


# Keyword options and TOML may still use the field names or the older spelling.
OLD_KEYS = {
    "retry_after_s": "retry_after",
    "max_body_bytes": "max_body",
    "max_body_size": "max_body",
}


class WebOptions(TypedDict, total=False):
    """The middleware's keyword options, as typed as `[web]`'s keys (sizes, counts and
    switches may also be given as text: "1M", "16", "off"); the older spellings in OLD_KEYS
    are accepted too. A test keeps this equal to the registry's `[web]` keys."""

    prefix: str
    health_path: str
    ready_path: str
    memory_path: str
    metrics_path: str
    endpoints: bool | str
    metrics: bool | str
    admin_token: str | None
    public_details: bool | str
    shed: bool | str
    retry_after: int | str
    max_concurrency: int | str | None
    max_body: int | str | None
    exempt_paths: Sequence[str] | str | None
    attribution: bool | str
    attribution_every: int | str
    top_routes: int | str
    max_routes: int | str
    start_guardian: bool | str
    retry_after_s: int | str
    max_body_bytes: int | str | None
    max_body_size: int | str | None


def web_from(resolved: Resolved) -> WebConfig:
    fields = resolved.fields()
    fields["exempt_paths"] = fields["exempt_paths"] or ()
    return WebConfig(**fields)


def load_web_config(
    options: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> WebConfig:
    """Options > MEMWARDEN_WEB_<KEY> (and MEMWARDEN_ADMIN_TOKEN) > [web] > defaults."""
    from memwarden.settings import load

    return load(config_path, environ).web(options)
