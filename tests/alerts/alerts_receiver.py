"""A real HTTP receiver on 127.0.0.1 that can answer ok, 429 + Retry-After, or hang, and
fixtures for it (the areas' conftest.py hand them to test modules)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    body: Any
    monotonic_s: float


@dataclass
class Receiver:
    url: str
    mode: str = "ok"  # "ok" | "429" (first `limited` requests) | "slow" (hang until release)
    limited: int = 1
    answers: list[int] = field(default_factory=list)  # statuses for the first requests, in turn
    retry_after: str = "1"
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"receiver got {len(self.requests)} of {count} requests"
                self.cond.wait(remaining)
            return list(self.requests)


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver.cond:
                receiver.requests.append(Received(self.path, body, time.monotonic()))
                index = len(receiver.requests)
                receiver.cond.notify_all()
            if receiver.mode == "slow":
                receiver.release.wait(60)
            if receiver.mode == "429" and index <= receiver.limited:
                self.send_response(429)
                self.send_header("Retry-After", receiver.retry_after)
            elif index <= len(receiver.answers):
                self.send_response(receiver.answers[index - 1])
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(port: int = 0) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1:port (0: any free port) until the block ends."""
    rec = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(rec))
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with serving() as rec:
        yield rec


@pytest.fixture(name="down_url")
def down_url_fixture() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
