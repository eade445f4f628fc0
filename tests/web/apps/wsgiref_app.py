"""A plain WSGI app under MemwardenWSGIMiddleware, served by wsgiref (the standard library's
lenient server: it passes any Content-Length on to the app)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from memwarden.web.wsgi import MemwardenWSGIMiddleware


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)  # as naive as many apps: trusts the header
    received = len(environ["wsgi.input"].read(length)) if length else 0
    body = b'{"received":%d}' % received
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


app = MemwardenWSGIMiddleware(hello)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


if __name__ == "__main__":
    with make_server("127.0.0.1", int(sys.argv[1]), app, handler_class=QuietHandler) as server:
        server.serve_forever()
