"""The demo's web service: a webhook receiver with the classic leak.

Every event is deduplicated through `service.processed_records`, a set that is never pruned:
memory grows with every event, from the webhook requests (POST /events) and from a poller
that pulls the upstream feed in the background. The poller keeps the leak growing while load
is shed, so the demo reaches the supervisor's restart tier. The counters and sessions are the
state that must survive a restart: an `on_shutdown` hook saves them, start-up restores them.

Standard library only (wsgiref, threads) plus memwarden's WSGI middleware, so the demo runs
on a bare `pip install memwarden`:

    python -m memwarden.demo --port 8000 --state state.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import memwarden
from memwarden.events import Event, EventKind
from memwarden.web.wsgi import MemwardenWSGIMiddleware

StartResponse = Callable[..., Any]
POLL_INTERVAL_S = 0.1


class WebhookService:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # The leak: seen event ids, kept "so nothing is processed twice", never pruned.
        self.processed_records: set[str] = set()
        self.events_total = 0
        self.duplicates_total = 0
        self.sessions: dict[str, int] = {}  # sender -> events accepted from it

    def process(self, sender: str, event_ids: Iterable[str]) -> int:
        accepted = 0
        with self.lock:
            for event_id in event_ids:
                if event_id in self.processed_records:
                    self.duplicates_total += 1
                    continue
                self.processed_records.add(event_id)
                accepted += 1
            self.events_total += accepted
            self.sessions[sender] = self.sessions.get(sender, 0) + accepted
        return accepted

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"events_total": self.events_total,
                    "duplicates_total": self.duplicates_total,
                    "sessions": dict(self.sessions)}

    def restore(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.events_total = int(state.get("events_total", 0))
            self.duplicates_total = int(state.get("duplicates_total", 0))
            self.sessions = {str(k): int(v) for k, v in dict(state.get("sessions", {})).items()}


service = WebhookService()


def _respond(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def webhooks(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/events" and environ.get("REQUEST_METHOD") == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            batch = json.loads(environ["wsgi.input"].read(size))
            accepted = service.process(str(batch["sender"]), map(str, batch["ids"]))
        except (ValueError, KeyError, TypeError) as err:
            return _respond(start_response, "400 Bad Request", {"error": str(err)})
        return _respond(start_response, "200 OK", {"accepted": accepted})
    if path == "/stats":
        return _respond(start_response, "200 OK", service.state())
    return _respond(start_response, "404 Not Found", {"error": "no such path"})


class _Server(ThreadingMixIn, WSGIServer):
    # Non-daemon request threads, so server_close() waits for requests in flight (a graceful
    # drain): socketserver only tracks, and joins, threads that are not daemons.
    daemon_threads = False
    block_on_close = True
    # The listening socket `memwarden run --socket` handed over (LISTEN_FDS): it is already
    # bound and listening, and stays open in the supervisor across restarts.
    inherited: socket.socket | None = None

    def server_bind(self) -> None:
        if self.inherited is None:
            super().server_bind()
            return
        self.socket.close()
        self.socket = self.inherited
        host, port = self.socket.getsockname()[:2]
        self.server_address = (host, port)
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def server_activate(self) -> None:
        if self.inherited is None:
            super().server_activate()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the demo's output


def poll_upstream(stop: threading.Event, ids_per_s: int, id_bytes: int) -> None:
    """The background feed: ids_per_s new event ids a second, in batches every 100 ms."""
    serial = 0
    pad = "x" * max(0, id_bytes - 40)
    per_batch = max(1, int(ids_per_s * POLL_INTERVAL_S))
    while not stop.wait(POLL_INTERVAL_S):
        ids = [f"feed:{os.getpid()}:{serial + i:012d}:{pad}" for i in range(per_batch)]
        serial += per_batch
        service.process("upstream-feed", ids)


def _publish(kind: EventKind, message: str, figures: dict[str, Any]) -> None:
    from memwarden import guardian

    running = guardian.current()
    if running is not None:
        running.events.publish(Event(kind=kind, time_s=time.time(), message=message,
                                     tier=running.tier.label, source="demo-app",
                                     figures=figures))


def _describe(state: dict[str, Any]) -> str:
    return f"{state['events_total']:,} events, {len(state['sessions'])} sessions"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True, help="JSON file for saved state")
    parser.add_argument("--feed-ids-per-s", type=int, default=10000)
    parser.add_argument("--id-bytes", type=int, default=120)
    args = parser.parse_args(argv)

    restored = None
    if args.state.exists():
        service.restore(json.loads(args.state.read_text()))
        restored = service.state()
    handed = memwarden.listen_fds()
    _Server.inherited = handed[0] if handed else None
    server = make_server("127.0.0.1", args.port, MemwardenWSGIMiddleware(webhooks,
                         retry_after_s=1), server_class=_Server, handler_class=_QuietHandler)
    stop = threading.Event()
    feed = threading.Thread(target=poll_upstream, name="upstream-feed", daemon=True,
                            args=(stop, args.feed_ids_per_s, args.id_bytes))
    serving = threading.Thread(target=server.serve_forever, name="http", daemon=True)

    def save_state() -> None:
        # SIGTERM means "save and leave": stop taking work, let requests in flight finish,
        # then save what must survive the restart (not the leaking set).
        stop.set()
        server.shutdown()
        server.server_close()
        feed.join(5.0)
        state = service.state()
        tmp = args.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, args.state)
        _publish(EventKind.STATE_SAVED, f"state saved: {_describe(state)}", _counts(state))
        print(f"state saved: {_describe(state)}", flush=True)

    memwarden.on_shutdown(save_state)
    memwarden.start()  # in the main thread: under `memwarden run` SIGTERM runs save_state
    if restored is not None:
        _publish(EventKind.STATE_RESTORED, f"state restored: {_describe(restored)}",
                 _counts(restored))
    feed.start()
    serving.start()
    restored_text = _describe(restored) if restored is not None else "nothing (first start)"
    print(f"ready on http://127.0.0.1:{args.port}, restored {restored_text}", flush=True)
    serving.join()  # SIGTERM interrupts this: memwarden's handler runs save_state, then exits


def _counts(state: dict[str, Any]) -> dict[str, int]:
    return {"events_total": int(state["events_total"]), "sessions": len(state["sessions"])}


if __name__ == "__main__":
    main()
