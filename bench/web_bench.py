"""What MemwardenMiddleware costs at its documented defaults: FastAPI under uvicorn, the bare
app against the same app with the middleware, on the same machine in the same run.

    python bench/web_bench.py [--requests 1000] [--rounds 25] [--connections 4]

Both servers run side by side (one uvicorn worker each, uvicorn's defaults, access log off);
the guarded one starts the guardian as an app would. Each round a separate client process
sends a fixed number of GET /items/{n} on keep-alive connections to one server, then to the
other (the order alternates). Two figures per round and server:
- the server's CPU time per request (every thread of the server process, from
  /proc/PID/task/*/schedstat, so the guardian's thread counts): a saturated server's
  throughput is its inverse, and other load on a shared machine barely moves it;
- the client's throughput (requests/s), which such load does move.
Each is compared per round (guarded/bare, the two halves saw the same machine) and the median
ratio over rounds is the result. A second table drives both apps in process through one event
loop (no sockets), timed by the thread's own CPU clock.
Goal: the middleware costs at most 2 % of the bare app's throughput (CPU ratio <= 1.02).
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
from _schedstat import cpu_ns
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


def load(pid: int, port: int, requests: int, connections: int) -> tuple[float, float]:
    """(requests per second, server CPU µs per request), from a fresh client process."""
    before_ns = cpu_ns(pid)
    out = subprocess.run(
        [sys.executable, __file__, "--client", str(port), "--requests", str(requests),
         "--connections", str(connections)], capture_output=True, text=True, check=True)
    return requests / float(out.stdout), (cpu_ns(pid) - before_ns) / requests / 1000


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
    """µs of this thread's CPU per request (the guardian's thread is not counted here)."""
    began = time.thread_time()
    for _ in range(requests):
        await app(dict(SCOPE), _receive, _send)
    return (time.thread_time() - began) / requests * 1e6


def in_process(requests: int, rounds: int) -> tuple[float, float, float]:
    """(bare µs, guarded µs, median per-round ratio)."""
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
    ratios = [g / b for g, b in zip(timings["guarded"], timings["bare"], strict=True)]
    return median(timings["bare"]), median(timings["guarded"]), median(ratios)


def paired(guarded: list[float], bare: list[float]) -> tuple[float, float, float]:
    """Median and quartiles of the per-round ratios guarded/bare."""
    ratios = sorted(g / b for g, b in zip(guarded, bare, strict=True))
    return median(ratios), ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(client(args.client, args.requests, args.connections))
        return
    servers = {name: serve(name) for name in ("bare", "guarded")}
    rates: dict[str, list[float]] = {name: [] for name in servers}
    cpu_us: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for process, port in servers.values():  # warm-up
            load(process.pid, port, 500, args.connections)
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for name in order:
                process, port = servers[name]
                rate, cpu = load(process.pid, port, args.requests, args.connections)
                rates[name].append(rate)
                cpu_us[name].append(cpu)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
    cpu_ratio, cpu_q1, cpu_q3 = paired(cpu_us["guarded"], cpu_us["bare"])
    rate_ratio, rate_q1, rate_q3 = paired(rates["guarded"], rates["bare"])
    print(f"FastAPI under uvicorn, {args.requests} requests x {args.rounds} rounds on "
          f"{args.connections} keep-alive connections; medians, ratios per round\n")
    print(table(["variant", "server CPU µs/request", "requests/s"], [
        ["bare app (reference)", f"{median(cpu_us['bare']):.0f}",
         f"{median(rates['bare']):,.0f}"],
        ["app + MemwardenMiddleware (defaults)", f"{median(cpu_us['guarded']):.0f}",
         f"{median(rates['guarded']):,.0f}"],
        ["ratio guarded/bare (quartiles)", f"{cpu_ratio:.3f} ({cpu_q1:.3f}-{cpu_q3:.3f})",
         f"{rate_ratio:.3f} ({rate_q1:.3f}-{rate_q3:.3f})"],
    ]))
    cost = 1 - 1 / cpu_ratio  # throughput at saturation is the inverse of CPU per request
    verdict = "met" if cost <= GOAL_COST else "NOT met"
    print(f"\ngoal: cost <= {GOAL_COST:.0%} of throughput; result: {cost:+.1%} from server CPU "
          f"per request ({verdict}); {1 - rate_ratio:+.1%} from the client's throughput")
    bare_us, guarded_us, ratio = in_process(5000, 7)
    print("\nin process, no sockets (this thread's CPU µs per request, median of 7 x 5000):\n")
    print(table(["variant", "µs/request", "added µs", "ratio (per round)"], [
        ["bare FastAPI app", f"{bare_us:.1f}", "", "1.00"],
        ["+ MemwardenMiddleware (defaults)", f"{guarded_us:.1f}",
         f"{guarded_us - bare_us:+.1f}", f"{ratio:.3f}"],
    ]))


if __name__ == "__main__":
    main()
