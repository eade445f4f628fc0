"""What alerts cost the app: request latency with a receiver that is down, slow (10 s) or
answers 429 or 500, against no alerts at all; and how many alerts a burst of 100 transitions sends.

    python bench/alerts_bench.py [--requests 2000]

The app is a real threaded HTTP server on 127.0.0.1 whose requests publish tier transitions
on the guardian's EventBus, with cooldown 0 so the sender tries to post each one: one every 100
requests (already far more than a real service sees) and one per request (a stress case). A
client loop on a keep-alive connection measures request latency.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from memwarden.alerts import AlertHandle, AlertsConfig, attach
from memwarden.events import Event, EventBus


class Receiver:
    """A webhook receiver on loopback: ok, slow (hangs 10 s), 429 (Retry-After: 30) or 500."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.count += 1
                if receiver.mode == "slow":
                    time.sleep(10)  # the point of this receiver: it is slow
                status = {"429": 429, "500": 500}.get(receiver.mode, 200)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "30")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def down_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def transition(n: int) -> Event:
    previous, current = ("ok", "warn") if n % 2 == 0 else ("warn", "ok")
    return Event(kind="tier", time_s=time.time(), message=f"tier {previous} -> {current}",
                 tier=current, source="bench", figures={"previous": previous})


class App:
    """A real HTTP app whose every request publishes a transition on the bus."""

    def __init__(self, bus: EventBus, every: int) -> None:
        counter = iter(range(10**9))
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

            def do_GET(self) -> None:
                with lock:
                    n = next(counter)
                if n % every == 0:
                    bus.publish(transition(n // every))
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def measure(requests: int, url: str | None, every: int) -> tuple[list[float], dict[str, int]]:
    bus = EventBus()
    handle: AlertHandle | None = None
    if url is not None:
        handle = attach(bus, AlertsConfig(url=url, format="json", cooldown_s=0.0,
                                          timeout_s=15.0, service="bench"))
    app = App(bus, every)
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    latencies = []
    try:
        for _ in range(requests):
            start = time.perf_counter()
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            assert response.status == 200
    finally:
        connection.close()
        app.close()
    stats = handle.stats() if handle is not None else {}
    if handle is not None:
        handle.close(timeout_s=0.1)  # a slow receiver's thread is left behind (daemon)
    return latencies, stats


def burst(cooldown_s: float) -> tuple[int, dict[str, int]]:
    receiver = Receiver("ok")
    bus = EventBus()
    handle = attach(bus, AlertsConfig(url=receiver.url, format="slack", cooldown_s=cooldown_s,
                                      service="bench"))
    assert handle is not None
    ladder = ["ok", "warn", "critical", "warn"]
    for n in range(100):
        previous, current = ladder[n % 4], ladder[(n + 1) % 4]
        bus.publish(Event(kind="tier", time_s=time.time(), message=f"{previous} -> {current}",
                          tier=current, source="bench", figures={"previous": previous}))
    handle.flush(60)
    stats = handle.stats()
    handle.close()
    receiver.close()
    return receiver.count, stats


def main() -> None:
    import logging

    # The sender logs failed posts (rate-limited); the table is the output here.
    logging.getLogger("memwarden").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    requests = parser.parse_args().requests

    measure(200, None, 1)  # warm-up
    receivers = {mode: Receiver(mode) for mode in ("ok", "slow", "429", "500")}
    scenarios: dict[str, str | None] = {
        "no alerts (baseline)": None,
        "receiver ok": receivers["ok"].url,
        "receiver down": down_url(),
        "receiver slow (10 s)": receivers["slow"].url,
        "receiver 429 (Retry-After 30)": receivers["429"].url,
        "receiver 500 (retried, backoff)": receivers["500"].url,
    }
    print(f"{requests} requests per scenario; ratios against the baseline of the same rate\n")
    print(f"{'transitions':>11} {'scenario':30} {'p50 µs':>7} {'p99 µs':>7} {'p50 ×':>6} "
          f"{'p99 ×':>6}  sender")
    for every in (100, 1):
        baseline: tuple[float, float] | None = None
        for name, url in scenarios.items():
            latencies, stats = measure(requests, url, every)
            p50 = statistics.median(latencies) * 1e6
            p99 = statistics.quantiles(latencies, n=100)[98] * 1e6
            baseline = baseline or (p50, p99)
            sender = (f"sent {stats.get('sent', 0)}, failed {stats.get('failed', 0)}, "
                      f"dropped {stats.get('dropped', 0)}, retried {stats.get('retried', 0)}, "
                      f"given up {stats.get('given_up', 0)}"
                      if stats else "-")
            print(f"{'1/' + str(every) + ' req':>11} {name:30} {p50:7.0f} {p99:7.0f} "
                  f"{p50 / baseline[0]:6.2f} {p99 / baseline[1]:6.2f}  {sender}")
    for receiver in receivers.values():
        receiver.server.server_close()

    print("\nburst of 100 tier transitions (ok→warn→critical→warn→ok ...), receiver ok")
    for cooldown_s in (300.0, 0.0):
        count, stats = burst(cooldown_s)
        print(f"  cooldown {cooldown_s:5.0f}s: {count:3d} alerts sent "
              f"(deduplicated {stats['deduplicated']}, suppressed by cooldown "
              f"{stats['suppressed']}, dropped {stats['dropped']})")


if __name__ == "__main__":
    main()
