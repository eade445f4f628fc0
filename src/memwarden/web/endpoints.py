"""Framework-neutral endpoints: /health, /ready, /memory, /metrics and the admin POSTs.

`match()` says whether a path is ours; `handle_*()` turns (method, path, headers, body) into a
Response. Paths match exactly (no normalisation): "/memory/../health" or "//metrics" are not
ours and reach the app, which answers them as it answers any unknown path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from memwarden.policy import Tier
from memwarden.web import admin
from memwarden.web.health import (
    HEALTH_CONTENT_TYPE,
    CheckResult,
    health_document,
    run_checks_async,
    run_checks_blocking,
)
from memwarden.web.http import Response, error_response, json_response

if TYPE_CHECKING:
    from memwarden.web.core import Warden

GET = ("GET", "HEAD")
RECENT_EVENTS = 20


class Endpoints:
    def __init__(self, warden: Warden) -> None:
        self.warden = warden
        config = warden.config
        self.paths: dict[str, str] = {
            config.path("health"): "health",
            config.path("ready"): "ready",
            config.path("memory"): "memory",
        }
        if config.metrics:
            self.paths[config.path("metrics")] = "metrics"
        self.admin_prefix = config.path("memory") + "/"
        self.enabled = config.endpoints

    def match(self, path: str) -> str | None:
        """The endpoint name for path, "admin" for anything under /memory/, else None."""
        if not self.enabled:
            return None
        name = self.paths.get(path)
        if name is None and path.startswith(self.admin_prefix):
            return "admin"
        return name

    # -- entry points ---------------------------------------------------------------------------
    def handle_blocking(self, name: str, method: str, path: str, headers: Mapping[str, str],
                        body: bytes) -> Response:
        """WSGI servers: the user checks of /ready run in threads, bounded by their timeouts."""
        early = self._early(name, method, path, headers, body)
        if early is not None or name != "ready":
            return _head(method, early or self._simple(name, headers))
        return _head(method, self._ready(run_checks_blocking()))

    async def handle_async(self, name: str, method: str, path: str, headers: Mapping[str, str],
                           body: bytes) -> Response:
        import asyncio

        if name == "admin":
            # gc / cleanup / snapshot block for a while: keep the event loop free.
            return await asyncio.to_thread(self.handle_blocking, name, method, path, headers, body)
        early = self._early(name, method, path, headers, body)
        if early is not None or name != "ready":
            return _head(method, early or self._simple(name, headers))
        return _head(method, self._ready(await run_checks_async()))

    # -- shared -------------------------------------------------------------------------------
    def _early(self, name: str, method: str, path: str, headers: Mapping[str, str],
               body: bytes) -> Response | None:
        """Method checks and the whole admin branch; None when a GET endpoint should answer."""
        if name == "admin":
            return self._admin(method, path, headers, body)
        if method not in GET:
            return error_response(405, f"{method} not allowed on {path}",
                                  headers=(("allow", "GET, HEAD"),))
        return None

    def _simple(self, name: str, headers: Mapping[str, str]) -> Response:
        from memwarden.web.state import current_status

        if name == "health":
            # Liveness fails only when a restart is the fix.
            status, body = health_document(current_status(), fail_at=Tier.RESTART)
            return json_response(status, body, content_type=HEALTH_CONTENT_TYPE)
        if name == "memory":
            return self._memory(headers)
        return self._metrics(headers)

    def _ready(self, results: list[CheckResult]) -> Response:
        from memwarden.web.state import current_status

        status, body = health_document(current_status(), fail_at=Tier.CRITICAL, results=results)
        headers = (("retry-after", str(self.warden.config.retry_after_s)),) if status == 503 else ()
        return json_response(status, body, content_type=HEALTH_CONTENT_TYPE, headers=headers)

    def _memory(self, headers: Mapping[str, str]) -> Response:
        from memwarden.web.state import current_status, latest_leak, running_guardian

        config = self.warden.config
        offered = admin.bearer_token(headers)
        authorised = config.admin_token is not None and admin.token_matches(
            config.admin_token, offered)
        if offered is not None and config.admin_token is not None and not authorised:
            return _unauthorised()
        status = current_status()
        if not (config.public_details or authorised):
            return json_response(200, {"status": status.tier.label})
        guardian = running_guardian()
        leak = latest_leak(guardian)
        events = guardian.events.recent(RECENT_EVENTS) if guardian is not None else []
        body: dict[str, Any] = {"status": status.tier.label, **status.to_json()}
        body.update(
            trend=leak.to_json() if leak is not None else None,
            events=[event.to_json() for event in events],
            top_routes=self.warden.top_routes(),
            in_flight=self.warden.shedder.in_flight,
            shed_requests=dict(self.warden.shedder.shed_counts),
        )
        return json_response(200, body)

    def _metrics(self, headers: Mapping[str, str]) -> Response:
        metrics = self.warden.metrics()
        if metrics is None:
            return error_response(501, "prometheus_client is not installed "
                                       "(pip install 'memwarden[web]')")
        metrics.refresh(self.warden.shedder.in_flight)
        body, content_type = metrics.exposition(headers.get("accept"))
        return Response(200, (("content-type", content_type),
                              ("content-length", str(len(body))),
                              ("cache-control", "no-store")), body)

    def _admin(self, method: str, path: str, headers: Mapping[str, str],
               body: bytes) -> Response:
        action = path[len(self.admin_prefix):]
        token = self.warden.config.admin_token
        if token is None or action not in admin.ACTIONS:
            return error_response(404, "not found")
        if method != "POST":
            return error_response(405, f"{method} not allowed on {path}",
                                  headers=(("allow", "POST"),))
        if not admin.token_matches(token, admin.bearer_token(headers)):
            return _unauthorised()
        payload = admin.parse_body(body)
        if isinstance(payload, Response):
            return payload
        return admin.run_action(action, payload)


def _unauthorised() -> Response:
    return error_response(401, "missing or wrong admin token",
                          headers=(("www-authenticate", 'Bearer realm="memwarden"'),))


def _head(method: str, response: Response) -> Response:
    if method != "HEAD":
        return response
    return Response(response.status, response.headers, b"")
