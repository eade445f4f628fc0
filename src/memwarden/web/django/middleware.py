"""Django middleware: the endpoints, load shedding and per-route attribution
(`request.resolver_match.route`, e.g. "items/<int:item_id>/")."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from memwarden.web.admin import MAX_ADMIN_BODY_BYTES
from memwarden.web.config import load_web_config
from memwarden.web.core import Warden
from memwarden.web.http import BadRequest, Response, content_length

_warden: Warden | None = None
_lock = threading.Lock()


def get_warden() -> Warden:
    """One per process, built from settings.MEMWARDEN."""
    global _warden
    with _lock:
        if _warden is None:
            from django.conf import settings

            _warden = Warden(load_web_config(dict(getattr(settings, "MEMWARDEN", {}))))
        return _warden


def _django_response(response: Response) -> Any:
    from django.http import HttpResponse

    result = HttpResponse(response.body, status=response.status)
    for key, value in response.headers:
        if key != "content-length":
            result[key] = value
    return result


def _route(request: Any) -> str | None:
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    if not isinstance(route, str):
        return None
    return "/" + route.lstrip("^")


class MemwardenMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.warden = get_warden()

    def __call__(self, request: Any) -> Any:
        if not self.warden.started:
            self.warden.start_guardian()
        warden = self.warden
        try:
            length = content_length(request.META.get("CONTENT_LENGTH"))
        except BadRequest as err:
            return _django_response(err.response())
        path: str = request.path_info
        name = warden.endpoints.match(path)
        if name is not None:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body = b""
            if name == "admin":
                body = request.read(min(length or 0, MAX_ADMIN_BODY_BYTES + 1))
            return _django_response(
                warden.endpoints.handle_blocking(name, request.method, path, headers, body))
        rejection = warden.admit(path, length)
        if rejection is not None:
            return _django_response(rejection)
        mark = warden.begin()
        try:
            return self.get_response(request)
        finally:
            warden.finish(path, _route(request) if mark is not None else None, mark)
