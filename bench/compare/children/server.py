"""A small HTTP server that leaks on every request, so its supervisor restarts it by memory.

On SIGTERM/SIGINT it drains like a production server: it stops accepting, finishes the
requests it has accepted, runs the hook and exits 0. Whatever arrives after that is up to the
supervisor: refused, or (with a listening socket the supervisor holds) kept in the backlog.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import marker

LEAKED: list[bytes] = []


class LeakyHandler(BaseHTTPRequestHandler):
    leak_bytes = 0

    def do_GET(self) -> None:
        LEAKED.append(marker.touch(self.leak_bytes))
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markers", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--leak-bytes-per-request", type=int, default=256 * 2**10)
    args = parser.parse_args()

    LeakyHandler.leak_bytes = args.leak_bytes_per_request
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = False  # server_close() joins the request threads
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS"):
        # Socket activation (systemd's convention, `memwarden run --socket`): serve on fd 3,
        # bound and listening already, kept by the supervisor across restarts.
        server = ThreadingHTTPServer(("127.0.0.1", args.port), LeakyHandler,
                                     bind_and_activate=False)
        server.socket.close()
        server.socket = socket.socket(fileno=3)
    else:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), LeakyHandler)
    stopping: list[int] = []

    def handle_stop(signum: int, _frame: object) -> None:
        if not stopping:
            stopping.append(signum)
            marker.record(args.markers, "signal", signum=signum, rss_bytes=marker.rss_bytes())
            # shutdown() waits for serve_forever(), which runs in this (the main) thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    for signum in marker.STOP_SIGNALS:
        signal.signal(signum, handle_stop)
    marker.record(args.markers, "ready", rss_bytes=marker.rss_bytes())
    server.serve_forever()
    server.server_close()  # stop accepting; wait for the accepted requests to be answered
    marker.record(args.markers, "hook")


if __name__ == "__main__":
    main()
