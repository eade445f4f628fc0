"""The demo's load client against a real server: a request fails only when it never succeeded
within its retry budget; 503s and refused connections are counted as retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from memwarden.demo.load import LoadClient
from memwarden.demo.scenario import free_port


class _SheddingHandler(BaseHTTPRequestHandler):
    shed_first = 0  # answer 503 + Retry-After: 0 to this many requests, then 200
    seen = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        cls = type(self)
        cls.seen += 1
        status = 503 if cls.seen <= cls.shed_first else 200
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, type[_SheddingHandler]]]:
    handler = type("Handler", (_SheddingHandler,), {"shed_first": 0, "seen": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], handler
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def _client(port: int, budget_s: float) -> LoadClient:
    return LoadClient(port, senders=1, requests_per_s=1, ids_per_request=1, id_bytes=64,
                      retry_budget_s=budget_s)


def test_shed_requests_are_retried_not_failed(server: tuple[int, type]) -> None:
    port, handler = server
    handler.shed_first = 3
    client = _client(port, budget_s=30)
    client.send(b"{}")
    stats = client.snapshot()
    assert (stats.ok, stats.failed, stats.shed, stats.retries) == (1, 0, 3, 3)


def test_a_request_that_never_succeeds_is_failed(server: tuple[int, type]) -> None:
    port, handler = server
    handler.shed_first = 10**9
    client = _client(port, budget_s=0.5)
    client.send(b"{}")
    stats = client.snapshot()
    assert stats.ok == 0 and stats.failed == 1 and stats.shed >= 1


def test_refused_connections_are_retries_then_a_failure() -> None:
    client = _client(free_port(), budget_s=0.5)  # nothing listens there
    client.send(b"{}")
    stats = client.snapshot()
    assert stats.failed == 1 and stats.refused >= 2 and stats.ok == 0
