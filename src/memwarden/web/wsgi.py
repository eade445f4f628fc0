"""WSGI middleware (Flask, Django's WSGI handler, any WSGI app).

    app = MemwardenWSGIMiddleware(app, max_body_bytes="10M")

The guardian starts on the first request in each worker process (never in a preloading
gunicorn master, whose threads do not survive the fork). The route template comes from
environ["memwarden.route"], which the Flask and Django integrations set, or route_of(environ).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Unpack

from memwarden.web.admin import MAX_ADMIN_BODY_BYTES
from memwarden.web.config import WebConfig, WebOptions
from memwarden.web.core import Warden
from memwarden.web.http import BadRequest, Response, content_length

ROUTE_KEY = "memwarden.route"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _read_up_to(stream: Any, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < max_bytes:
        chunk = stream.read(max_bytes - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items()
               if k.startswith("HTTP_")}
    if "CONTENT_LENGTH" in environ:
        headers["content-length"] = str(environ["CONTENT_LENGTH"])
    return headers


def start(start_response: StartResponse, response: Response) -> list[bytes]:
    start_response(response.status_line, list(response.headers))
    return [response.body]


class _Finishing:
    """The app's iterable; the request counts as finished when the server closes it."""

    def __init__(self, iterable: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._iterable = iterable
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()


class MemwardenWSGIMiddleware:
    def __init__(self, app: WSGIApp, *, config: WebConfig | None = None,
                 warden: Warden | None = None,
                 route_of: Callable[[dict[str, Any]], str | None] | None = None,
                 **options: Unpack[WebOptions]) -> None:
        self.app = app
        self.warden = warden if warden is not None else Warden(config, **options)
        self.route_of = route_of

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self.warden.started:
            self.warden.start_guardian()
        warden = self.warden
        raw_length = environ.get("CONTENT_LENGTH")
        try:
            # Lenient servers (werkzeug, wsgiref) pass any Content-Length on, "²" included.
            length = content_length(None if raw_length is None else str(raw_length))
        except BadRequest as err:
            return start(start_response, err.response())
        path = str(environ.get("PATH_INFO", ""))
        name = warden.endpoints.match(path)
        if name is not None:
            headers = request_headers(environ)
            body = b""
            if name == "admin":
                body = environ["wsgi.input"].read(min(length or 0, MAX_ADMIN_BODY_BYTES + 1))
            method = str(environ.get("REQUEST_METHOD", "GET"))
            return start(start_response,
                         warden.endpoints.handle_blocking(name, method, path, headers, body))
        rejection = warden.admit(path, length)
        if rejection is not None:
            return start(start_response, rejection)
        mark = warden.begin()

        def finish() -> None:
            route = environ.get(ROUTE_KEY)
            if route is None and self.route_of is not None and mark is not None:
                route = self.route_of(environ)
            warden.finish(path, route, mark)

        max_body = warden.config.max_body_bytes
        if (max_body is not None and length is None
                and "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()):
            # A chunked upload: buffer up to the limit first, so the refusal is a clean 413
            # (a framework would turn an error raised from wsgi.input into a 500).
            body = _read_up_to(environ["wsgi.input"], max_body + 1)
            if len(body) > max_body:
                finish()
                return start(start_response, warden.shedder.count_body_rejection())
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        try:
            iterable = self.app(environ, start_response)
        except BaseException:
            finish()
            raise
        return _Finishing(iterable, finish)
