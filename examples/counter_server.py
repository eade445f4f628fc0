"""A counter that survives restarts: the state-keeping example for `memwarden run`.

    memwarden run --limit 200M --socket tcp://127.0.0.1:8000 -- python examples/counter_server.py
    curl -X POST localhost:8000/increment; curl localhost:8000/count

The counter lives in memory, is loaded from SQLite on start and saved by a
`memwarden.on_shutdown` hook when memwarden stops the server (SIGTERM: stop accepting, finish
the requests in flight, save, exit 0). `--checkpoint 10s` also saves every 10 s, so a kill
nobody can prevent loses at most one interval. It takes the listening socket memwarden hands
over (LISTEN_FDS), else binds --port. COUNTER_LEAK_BYTES=N keeps N bytes per request alive,
so a memory restart can be provoked.

Endpoints: POST /increment -> {"count": n}; GET /count -> {"count": n}; GET /health -> 200.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import memwarden


class Counter:
    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.lock = threading.Lock()
        with sqlite3.connect(db_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER)")
            row = db.execute("SELECT value FROM counter WHERE id = 1").fetchone()
        db.close()
        self.value = int(row[0]) if row else 0

    def increment(self) -> int:
        with self.lock:
            self.value += 1
            return self.value

    def save(self) -> None:
        with self.lock:
            value = self.value
        db = sqlite3.connect(self.db_path)
        with db:  # one transaction: the file holds the old or the new value, never half
            db.execute("INSERT OR REPLACE INTO counter (id, value) VALUES (1, ?)", (value,))
        db.close()


LEAKED: list[bytes] = []


def make_handler(counter: Counter, leak_bytes: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, int | str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path != "/increment":
                self._reply(404, {"error": "not found"})
                return
            if leak_bytes:
                LEAKED.append(b"x" * leak_bytes)
            self._reply(200, {"count": counter.increment()})

        def do_GET(self) -> None:
            if self.path == "/count":
                self._reply(200, {"count": counter.value})
            elif self.path == "/health":
                self._reply(200, {"status": "pass"})
            else:
                self._reply(404, {"error": "not found"})

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would drown the supervisor's log

    return Handler


def serve(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("COUNTER_PORT", "8000")))
    parser.add_argument("--db", default=os.environ.get("COUNTER_DB", "counter.sqlite3"))
    parser.add_argument("--checkpoint", default=os.environ.get("COUNTER_CHECKPOINT"))
    args = parser.parse_args(argv)

    counter = Counter(args.db)
    memwarden.on_shutdown(counter.save, every=args.checkpoint)
    leak_bytes = int(os.environ.get("COUNTER_LEAK_BYTES", "0"))
    handler = make_handler(counter, leak_bytes)

    inherited = memwarden.listen_fds()
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), handler, bind_and_activate=not inherited
    )
    if inherited:
        server.socket.close()
        server.socket = inherited[0]
    # Non-daemon request threads: server_close() waits for the requests in flight.
    server.daemon_threads = False

    def on_sigterm(_signum: int, _frame: object) -> None:
        # shutdown() waits for serve_forever, which runs in this (the main) thread: use another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    # Installed before memwarden.start(), which then leaves SIGTERM to us.
    signal.signal(signal.SIGTERM, on_sigterm)
    if args.checkpoint:
        memwarden.start()  # the guardian thread runs the periodic checkpoint
    host, port = server.socket.getsockname()[:2]
    source = "inherited fd 3" if inherited else "bound"
    print(f"counter_server: count {counter.value}, listening on {host}:{port} ({source})",
          flush=True)
    memwarden.notify_ready()
    server.serve_forever(poll_interval=0.5)
    server.server_close()  # stop accepting, then join the in-flight requests
    memwarden.stop()
    memwarden.run_shutdown_hooks()
    print(f"counter_server: saved count {counter.value}", flush=True)


if __name__ == "__main__":
    serve(sys.argv[1:])
