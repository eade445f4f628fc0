"""Pure ASGI middleware (Starlette, FastAPI, any ASGI app).

    app = MemwardenMiddleware(app, prefix="", max_concurrency=64)

Non-HTTP scopes pass through; the lifespan (or the first request, for servers without one)
starts the guardian once per worker process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Unpack

from memwarden import guardian as _guardian
from memwarden.web.admin import MAX_ADMIN_BODY_BYTES
from memwarden.web.config import WebConfig, WebOptions
from memwarden.web.core import Warden
from memwarden.web.http import BadRequest, Response, content_length

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# No body for the app to read: their Content-Length is neither checked nor held to
# max_body_bytes (servers check its syntax; an app does not read a GET's body).
BODILESS = ("GET", "HEAD")


def route_template(scope: Scope, root_path: str) -> str | None:
    """Starlette/FastAPI set scope["route"] to the matched route; a Mount adds its prefix to
    root_path, so the template is what root_path gained plus the inner route's path."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str):
        return None
    now = scope.get("root_path", "")
    return path if now == root_path else str(now)[len(root_path):] + path


async def send_response(send: Send, response: Response) -> None:
    await send({
        "type": "http.response.start",
        "status": response.status,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
    })
    await send({"type": "http.response.body", "body": response.body})


class MemwardenMiddleware:
    def __init__(self, app: ASGIApp, *, config: WebConfig | None = None,
                 warden: Warden | None = None, **options: Unpack[WebOptions]) -> None:
        self.app = app
        self.warden = warden if warden is not None else Warden(config, **options)

    def _ensure_started(self) -> None:
        if not self.warden.started:
            self.warden.start_guardian()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                self._ensure_started()
            return await self.app(scope, receive, send)
        warden = self.warden
        path: str = scope["path"]
        # Most requests: a GET or HEAD for the app (not our endpoints, not exempt), while
        # memory is not critical and nothing is capped. Written for the interpreter's
        # specialised instructions: attributes read, then called (a method call on an
        # attribute holding a callable is not specialised), `in` rather than startswith().
        # Any other request, and the one in attribution_every that is measured, takes
        # _serve(), which checks everything.
        if (warden.lean and scope["method"] in BODILESS and path not in warden.own_paths
                and warden.admin_mark not in path and not _guardian.memory_critical
                and not warden.shedder.shedding):
            if next(warden.turns):
                return await self._serve(scope, receive, send, path, True)
            flight = warden.flight
            flight.append(None)
            app = self.app
            try:
                await app(scope, receive, send)
            finally:
                flight.pop()
            return None
        return await self._serve(scope, receive, send, path, None)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str,
                     due: bool | None) -> None:
        """Every check, in order. due: whether to measure this one, None when not yet asked
        (asking takes the attribution's turn)."""
        warden = self.warden
        if not warden.started:
            warden.start_guardian()
        length = None
        if scope["method"] not in BODILESS:  # a GET's headers are not scanned for a length
            for key, _ in scope["headers"]:  # lower-case names: the ASGI spec asks for it
                if key == b"content-length":  # parse (and check) only when it is there
                    try:
                        length = _content_length(scope)
                    except BadRequest as err:
                        return await send_response(send, err.response())
                    break
        name = warden.endpoints.match(path)
        if name is not None:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", ())}
            body = await _read_body(receive, MAX_ADMIN_BODY_BYTES + 1) if name == "admin" else b""
            response = await warden.endpoints.handle_async(name, scope["method"], path, headers,
                                                           body)
            return await send_response(send, response)
        rejection = warden.admit(path, length)
        if rejection is not None:
            return await send_response(send, rejection)
        if due is None:
            due = warden.measure_due()
        mark = warden.rss_before() if due else None
        if mark is not None:  # measured: it needs its route
            root_path = str(scope.get("root_path", ""))  # before a Mount extends it
        try:
            max_body = warden.max_body_bytes
            if max_body is not None and length is None and scope["method"] not in BODILESS:
                # No Content-Length (a chunked upload): buffer up to the limit before the app
                # sees it, so the refusal is a clean 413 whatever the framework does with errors.
                body = await _read_body(receive, max_body + 1)
                if len(body) > max_body:
                    return await send_response(send, warden.shedder.count_body_rejection())
                receive = _replay(body, receive)
            await self.app(scope, receive, send)
        finally:
            warden.finish(path, None if mark is None else route_template(scope, root_path),
                          mark)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when it comes

    return replay


def _content_length(scope: Scope) -> int | None:
    """Every Content-Length header, joined: two that differ are refused like one bad one."""
    found: str | None = None
    for key, value in scope["headers"]:  # lower-case names: the ASGI spec asks servers for it
        if key == b"content-length":
            text = value.decode("latin-1")
            found = text if found is None else f"{found},{text}"
    return None if found is None else content_length(found)


async def _read_body(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < max_bytes:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
