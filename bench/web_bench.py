"""What MemwardenMiddleware costs at its documented defaults: FastAPI under uvicorn, the bare
app against the same app with the middleware, on the same machine in the same run.

    python bench/web_bench.py [--requests 3000] [--rounds 9] [--connections 4]

Both servers run side by side (one uvicorn worker each, uvicorn's defaults, access log off);
the guarded one starts the guardian as an app would. Each round a separate client process
sends a fixed number of GET /items/{n} on keep-alive connections to one server, then to the
other (the order alternates); the result is the median throughput over rounds, and the cost is
1 - guarded/bare. A second table drives both apps in process through one event loop (no
sockets), for the cost in µs per request without the server's own.
Goal: the middleware costs at most 2 % of the bare app's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import median, table

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"

GOAL_COST = 0.02


# -- the apps (uvicorn imports this module with --factory) -----------------------------------
def bare() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


def guarded() -> Any:
    from memwarden.web.asgi import MemwardenMiddleware

    app = bare()
    app.add_middleware(MemwardenMiddleware)  # the documented defaults
    return app


# -- the client (a separate process, so its CPU is not the server's GIL) ---------------------
def client(port: int, requests: int, connections: int) -> float:
    """Seconds to get `requests` answers over `connections` keep-alive connections."""
    per_connection = requests // connections

    def run(offset: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for n in range(per_connection):
                sock.sendall(b"GET /items/%d HTTP/1.1\r\nHost: bench\r\n\r\n" % (offset + n))
                buffer = b""
                while True:
                    buffer += sock.recv(65536)
                    head, sep, body = buffer.partition(b"\r\n\r\n")
                    if not sep:
                        continue
                    start = head.lower().find(b"content-length:") + len(b"content-length:")
                    size = int(head[start:head.find(b"\r\n", start)])
                    if len(body) >= size:
                        break
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"unexpected answer: {head[:80]!r}")

    threads = [threading.Thread(target=run, args=(c * per_connection,))
               for c in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(factory: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH), str(SRC)]))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"web_bench:{factory}", "--factory", "--port",
         str(port), "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)  # waiting for readiness, with a deadline
    process.kill()
    raise SystemExit(f"{factory} did not start")


def load(port: int, requests: int, connections: int) -> float:
    """Requests per second, from a fresh client process."""
    out = subprocess.run(
        [sys.executable, __file__, "--client", str(port), "--requests", str(requests),
         "--connections", str(connections)], capture_output=True, text=True, check=True)
    return requests / float(out.stdout)


# -- in process ------------------------------------------------------------------------------
SCOPE: dict[str, Any] = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/items/1", "raw_path": b"/items/1", "root_path": "",
    "query_string": b"", "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
    "server": ("bench", 80), "client": ("127.0.0.1", 1),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


async def drive(app: Any, requests: int) -> float:
    """µs per request."""
    began = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE), _receive, _send)
    return (time.perf_counter() - began) / requests * 1e6


def in_process(requests: int, rounds: int) -> dict[str, float]:
    sys.path.insert(0, str(SRC))
    apps = {"bare": bare(), "guarded": guarded()}
    loop = asyncio.new_event_loop()
    for app in apps.values():  # warm-up: lifespan-less start, first metrics refresh, caches
        loop.run_until_complete(drive(app, 500))
    timings: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            timings[name].append(loop.run_until_complete(drive(app, requests)))
    loop.close()
    return {name: median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(client(args.client, args.requests, args.connections))
        return
    servers = {name: serve(name) for name in ("bare", "guarded")}
    rates: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for _, port in servers.values():  # warm-up
            load(port, 500, args.connections)
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for name in order:
                rates[name].append(load(servers[name][1], args.requests, args.connections))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
    bare_rate, guarded_rate = median(rates["bare"]), median(rates["guarded"])
    # Paired per round too: the two runs of a round saw the same machine load.
    paired = median([g / b for g, b in zip(rates["guarded"], rates["bare"], strict=True)])
    cost = 1 - guarded_rate / bare_rate
    print(f"FastAPI under uvicorn, {args.requests} requests x {args.rounds} rounds on "
          f"{args.connections} keep-alive connections; medians\n")
    print(table(["variant", "requests/s", "ratio to bare"], [
        ["bare app (reference)", f"{bare_rate:,.0f}", "1.000"],
        ["app + MemwardenMiddleware (defaults)", f"{guarded_rate:,.0f}",
         f"{guarded_rate / bare_rate:.3f} (paired per round: {paired:.3f})"],
    ]))
    verdict = "met" if cost <= GOAL_COST else "NOT met"
    print(f"\ngoal: cost <= {GOAL_COST:.0%} of throughput; result: {cost:+.1%} ({verdict})")
    micro = in_process(5000, 5)
    print("\nin process, no sockets (µs per request, median of 5 x 5000):\n")
    print(table(["variant", "µs/request", "added µs", "ratio"], [
        ["bare FastAPI app", f"{micro['bare']:.1f}", "", "1.00"],
        ["+ MemwardenMiddleware (defaults)", f"{micro['guarded']:.1f}",
         f"{micro['guarded'] - micro['bare']:+.1f}", f"{micro['guarded'] / micro['bare']:.2f}"],
    ]))


if __name__ == "__main__":
    main()
