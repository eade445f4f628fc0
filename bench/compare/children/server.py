"""A small HTTP server that leaks on every request, so its supervisor restarts it by memory."""

from __future__ import annotations

import argparse
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

    marker.install_stop_handler(args.markers)
    LeakyHandler.leak_bytes = args.leak_bytes_per_request
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), LeakyHandler)
    marker.record(args.markers, "ready", rss_bytes=marker.rss_bytes())
    server.serve_forever()


if __name__ == "__main__":
    main()
