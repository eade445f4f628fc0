"""What MemwardenMiddleware costs at its documented defaults: FastAPI under uvicorn, the bare
app against the same app with the middleware, on the same machine in the same run.

    python bench/web_bench.py [--requests 1000] [--rounds 48] [--sessions 16] [--connections 4]
                              [--parts] [--seed 0]

Four servers run side by side (one uvicorn worker each, uvicorn's defaults, access log off): the
bare app twice (bare A and B) and the guarded app twice (guarded A and B), which starts the
guardian as an app would (its thread samples every second; the leak watch evaluates on each
sample). Each server first serves a warm-up that is not counted. The servers are started afresh
for each of a few sessions that share the rounds: two identical servers can differ by 1-2 % for
their whole life (hash seed, memory layout), which more rounds on the same processes would not
average out. So the verdict is taken over sessions, not rounds: rounds of one session are alike.
A session's servers share one hash seed and start in a random order: with a fixed order, a
server measured ~1 % apart from an identical copy of itself started in another place, in the
same run.

Each round a fresh client process opens `connections` keep-alive connections to each server and
every client thread cycles request by request through the servers, in a random order each cycle
(with a fixed one, each server always followed the same neighbour). All the servers see the same
machine at the same moments: measuring one server for a while and then the other (as this bench
once did) let the load of other jobs on a shared host move the per-round ratios by ±10 %, more
than the effect measured.
Per round and server:
- server CPU per request, every thread of the process (/proc/PID/task/*/schedstat), split
  into the event loop's thread and the others (the guardian's, in the guarded servers);
- the client's wait per request (its inverse is the throughput of one connection).
Each pair counts as the mean of its two servers (one server's lifetime offset counts half),
and the guarded pair is compared per round with the bare pair; bare B against bare A is the
control: what two identical servers differ by in this run (its distance from 1.000 is the
bench's own error). Results are medians over rounds with quartiles, beside the ratio of the
totals (the two agree when rounds are comparable); the verdict is the median of the sessions'
ratios (each session's totals) with its 95 % interval.
A second table drives the apps in process (no sockets) through one event loop, timed by the
thread's CPU clock, alternating in short batches: the per-request path alone.
Goal: the middleware costs at most 2 % of the bare app's throughput (CPU ratio <= 1.02); the
verdict is "met" only when the whole 95 % interval of the sessions' median is within it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _schedstat import thread_cpu_ns
from _table import median, table

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"

GOAL_COST = 0.02
WARMUP_REQUESTS = 3000  # per server: imports, caches, the first metrics refresh, allocator


# -- the apps (uvicorn imports this module with --factory) -----------------------------------
def bare() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


class PassThrough:
    """An ASGI middleware that does nothing: what any middleware layer costs in FastAPI."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def pass_through() -> Any:
    app = bare()
    app.add_middleware(PassThrough)
    return app


def _start_idle_thread() -> None:
    """One more thread in the process, which wakes once a second and does nothing."""
    import threading

    never = threading.Event()

    def idle() -> None:
        while not never.wait(1.0):
            pass

    threading.Thread(target=idle, name="idle", daemon=True).start()


def plain_thread() -> Any:
    """The bare app in a process with an idle thread: what any live background thread costs,
    the floor under the guardian's."""
    _start_idle_thread()
    return bare()


def guarded_beside_thread() -> Any:
    """The defaults in a process that already has a thread, as an app with a thread pool, a
    database pool or an exporter has: against plain_thread, what the middleware adds there."""
    _start_idle_thread()
    return guarded()


def guardian_only() -> Any:
    """The bare app in a process where the guardian runs (as memwarden.start() in an app)."""
    import memwarden

    app = bare()
    app.router.on_startup.append(memwarden.start)
    return app


def middleware_only() -> Any:
    """The middleware without the guardian or metrics: its per-request work alone."""
    from memwarden.web.asgi import MemwardenMiddleware

    app = bare()
    app.add_middleware(MemwardenMiddleware, start_guardian=False, metrics=False)
    return app


def no_attribution() -> Any:
    """The defaults without route attribution (its measured requests read RSS twice)."""
    from memwarden.web.asgi import MemwardenMiddleware

    app = bare()
    app.add_middleware(MemwardenMiddleware, attribution=False)
    return app


# --parts: what each server is, beside the bare pair and the guarded pair.
PARTS = {"pass-through middleware": "pass_through", "an idle thread": "plain_thread",
         "guardian alone": "guardian_only", "middleware alone": "middleware_only",
         "defaults without attribution": "no_attribution",
         "defaults beside an idle thread": "guarded_beside_thread"}
# Printed also against another part: (part, its reference).
PARTS_AGAINST = (("defaults beside an idle thread", "an idle thread"),)


def guarded() -> Any:
    from memwarden.web.asgi import MemwardenMiddleware

    app = bare()
    app.add_middleware(MemwardenMiddleware)  # the documented defaults
    return app


# -- the client (a separate process, so its CPU is not the servers' GIL) ---------------------
def _get(sock: socket.socket, n: int) -> None:
    sock.sendall(b"GET /items/%d HTTP/1.1\r\nHost: bench\r\n\r\n" % n)
    buffer = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buffer += chunk
        head, sep, body = buffer.partition(b"\r\n\r\n")
        if not sep:
            continue
        start = head.lower().find(b"content-length:") + len(b"content-length:")
        size = int(head[start:head.find(b"\r\n", start)])
        if len(body) >= size:
            break
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected answer: {head[:80]!r}")


def client(ports: list[int], requests: int, connections: int, seed: int) -> list[float]:
    """Seconds the client waited on each server (ports in order) for `requests` answers each,
    cycling request by request through the servers on `connections` keep-alive connections
    to each, in a random order each cycle (seeded)."""
    per_connection = requests // connections
    waited_s = [[0.0] * len(ports) for _ in range(connections)]

    def run(c: int) -> None:
        socks = [socket.create_connection(("127.0.0.1", port)) for port in ports]
        try:
            for sock in socks:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            shuffle = random.Random(seed * connections + c).shuffle
            order = list(range(len(ports)))
            clock = time.perf_counter
            for n in range(per_connection):
                shuffle(order)
                for i in order:
                    began = clock()
                    _get(socks[i], c * per_connection + n)
                    waited_s[c][i] += clock() - began
        finally:
            for sock in socks:
                sock.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [sum(row[i] for row in waited_s) for i in range(len(ports))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(factory: str, hash_seed: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH), str(SRC)]),
               PYTHONHASHSEED=str(hash_seed))
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


def loop_and_others_ns(pid: int) -> tuple[int, int]:
    """(event loop thread, every other thread) CPU time of pid so far."""
    times_ns = thread_cpu_ns(pid)
    main_ns = times_ns.pop(pid, 0)
    return main_ns, sum(times_ns.values())


def load(servers: list[tuple[int, int]], requests: int, connections: int,
         seed: int) -> tuple[list[tuple[float, float]], list[float], float]:
    """One round from a fresh client process: per server (event loop µs, other threads µs) of
    CPU per request and the client's µs per request; and the round's wall seconds."""
    before = [loop_and_others_ns(pid) for pid, _ in servers]
    began = time.monotonic()
    out = subprocess.run(
        [sys.executable, __file__, "--client", ",".join(str(port) for _, port in servers),
         "--requests", str(requests), "--connections", str(connections), "--seed", str(seed)],
        capture_output=True, text=True, check=True)
    wall_s = time.monotonic() - began
    after = [loop_and_others_ns(pid) for pid, _ in servers]
    cpu = [((a[0] - b[0]) / requests / 1000, (a[1] - b[1]) / requests / 1000)
           for a, b in zip(after, before, strict=True)]
    waited = [s / requests * 1e6 for s in json.loads(out.stdout)]
    return cpu, waited, wall_s


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


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


async def drive(app: Any, requests: int) -> float:
    """µs of this thread's CPU per request (the guardian's thread is not counted here)."""
    began = time.thread_time()
    for _ in range(requests):
        await app(dict(SCOPE), _receive, _send)
    return (time.thread_time() - began) / requests * 1e6


def in_process(requests: int, rounds: int) -> dict[str, list[float]]:
    """µs per request of each app per round, the apps alternating in short batches."""
    from memwarden.web.asgi import MemwardenMiddleware

    sys.path.insert(0, str(SRC))
    apps = {"bare": bare(), "guarded": guarded(), "nothing": _nothing,
            "nothing+mw": MemwardenMiddleware(_nothing)}
    loop = asyncio.new_event_loop()
    for app in apps.values():  # warm-up: the guardian's start, first metrics refresh, caches
        loop.run_until_complete(drive(app, 2000))
    timings: dict[str, list[float]] = {name: [] for name in apps}
    names = list(apps)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            timings[name].append(loop.run_until_complete(drive(apps[name], requests)))
    loop.close()
    return timings


def quartiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return median(ordered), ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]


def median_interval(values: list[float]) -> tuple[float, float]:
    """A 95 % confidence interval of the median, from order statistics (no distribution
    assumed): the ranks n/2 -+ 0.98 sqrt(n)."""
    ordered = sorted(values)
    half_width = 0.98 * len(ordered) ** 0.5
    low = max(0, int(len(ordered) / 2 - half_width))
    high = min(len(ordered) - 1, int(len(ordered) / 2 + half_width))
    return ordered[low], ordered[high]


def ratios(guarded: list[float], bare: list[float]) -> list[float]:
    return [g / b for g, b in zip(guarded, bare, strict=True)]


def spread(values: list[float], digits: int = 3) -> str:
    mid, low, high = quartiles(values)
    return f"{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="per server and round")
    parser.add_argument("--rounds", type=int, default=48)
    parser.add_argument("--connections", type=int, default=4, help="per server")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--sessions", type=int, default=16,
                        help="start the servers afresh this many times, sharing the rounds")
    parser.add_argument("--parts", action="store_true",
                        help="also serve a pass-through middleware, an idle thread, the guardian "
                        "alone, the middleware alone (without guardian and metrics), the "
                        "defaults without attribution and the defaults beside an idle thread, "
                        "to split the cost")
    parser.add_argument("--seed", type=int, default=0,
                        help="of the servers' places, the request order and the hash seeds")
    args = parser.parse_args()
    if args.client:
        ports = [int(port) for port in args.client.split(",")]
        print(json.dumps(client(ports, args.requests, args.connections, args.seed)))
        return
    factories = {"bare A": "bare", "bare B": "bare", "guarded A": "guarded",
                 "guarded B": "guarded"}
    against = PARTS_AGAINST if args.parts else ()
    if args.parts:
        factories.update(PARTS)
    names = tuple(factories)
    loop_us: dict[str, list[float]] = {name: [] for name in names}
    other_us: dict[str, list[float]] = {name: [] for name in names}
    waited_us: dict[str, list[float]] = {name: [] for name in names}
    wall_s = 0.0
    session_of: list[int] = []  # each round's session
    # Fresh servers for each session: two identical servers can differ by 1-2 % for their whole
    # life (hash seed, memory layout), which more rounds on the same pair would not average out.
    # A session's servers share one hash seed, and start in a random order: a server that always
    # started in the same place measured ~1 % apart from a copy of itself started elsewhere.
    draw = random.Random(args.seed)
    for session in range(args.sessions):
        places = draw.sample(names, len(names))
        hash_seed = draw.randrange(2**32)
        started = [serve(factories[name], hash_seed) for name in places]
        servers = [(process.pid, port) for process, port in started]
        try:
            load(servers, WARMUP_REQUESTS, args.connections, draw.randrange(2**32))  # not counted
            for _ in range(session, args.rounds, args.sessions):
                cpu, waited, seconds = load(servers, args.requests, args.connections,
                                            draw.randrange(2**32))
                wall_s += seconds
                session_of.append(session)
                for name, (main_us, rest_us), client_us in zip(places, cpu, waited, strict=True):
                    loop_us[name].append(main_us)
                    other_us[name].append(rest_us)
                    waited_us[name].append(client_us)
        finally:
            for process, _ in started:
                process.terminate()
                process.wait(30)
    total_us = {name: [a + b for a, b in zip(loop_us[name], other_us[name], strict=True)]
                for name in names}
    # Per round, the mean of each pair: one server's lifetime offset counts half.
    for figures in (total_us, loop_us, other_us, waited_us):
        for pair in ("bare", "guarded"):
            figures[pair] = [(a + b) / 2 for a, b in zip(figures[f"{pair} A"],
                                                         figures[f"{pair} B"], strict=True)]
    cpu_ratios = ratios(total_us["guarded"], total_us["bare"])
    control_ratios = ratios(total_us["bare B"], total_us["bare A"])
    client_ratios = ratios(waited_us["guarded"], waited_us["bare"])
    client_control = ratios(waited_us["bare B"], waited_us["bare A"])
    print(f"FastAPI under uvicorn: {args.rounds} rounds of {args.requests} requests per server "
          f"({args.sessions} sessions of fresh servers), "
          f"each client thread cycling through the {len(names)} servers on {args.connections} "
          f"keep-alive connections to each; after {WARMUP_REQUESTS} warm-up requests each. "
          "Medians over rounds (quartiles).\n")
    rows = []
    for name, label in (("bare A", "bare app A (reference)"), ("bare B", "bare app B (reference)"),
                        ("guarded A", "app + MemwardenMiddleware (defaults) A"),
                        ("guarded B", "app + MemwardenMiddleware (defaults) B")):
        rows.append([label, f"{median(total_us[name]):.1f}", f"{median(loop_us[name]):.1f}",
                     f"{median(other_us[name]):.2f}", f"{median(waited_us[name]):.0f}"])
    rows.append(["control: bare B / bare A, per round", spread(control_ratios),
                 spread(ratios(loop_us["bare B"], loop_us["bare A"])), "",
                 spread(client_control)])
    rows.append(["guarded B / guarded A, per round",
                 spread(ratios(total_us["guarded B"], total_us["guarded A"])),
                 spread(ratios(loop_us["guarded B"], loop_us["guarded A"])), "",
                 spread(ratios(waited_us["guarded B"], waited_us["guarded A"]))])
    rows.append(["guarded (mean of A and B) / bare (mean of A and B), per round",
                 spread(cpu_ratios),
                 spread(ratios(loop_us["guarded"], loop_us["bare"])), "",
                 spread(client_ratios)])
    for part in names[4:]:
        rows.append([f"{part} / bare, per round",
                     spread(ratios(total_us[part], total_us["bare"])),
                     spread(ratios(loop_us[part], loop_us["bare"])),
                     f"{median(other_us[part]):.2f}", ""])
    for part, reference in against:
        rows.append([f"{part} / {reference}, per round",
                     spread(ratios(total_us[part], total_us[reference])),
                     spread(ratios(loop_us[part], loop_us[reference])), "", ""])
    rows.append(["guarded / bare, totals",
                 f"{sum(total_us['guarded']) / sum(total_us['bare']):.3f}", "", "",
                 f"{sum(waited_us['guarded']) / sum(waited_us['bare']):.3f}"])
    print(table(["variant", "server CPU µs/request", "event loop thread", "other threads",
                 "client wait µs/request"], rows))
    guardian_share = sum(other_us["guarded"]) * args.requests / 1e6 / wall_s
    print(f"\na guarded server's other threads (the guardian's): {guardian_share:.3%} of a core "
          f"over {wall_s:.0f} s of rounds")
    def cost(ratio: float) -> float:  # throughput at saturation is the inverse of CPU
        return 1 - 1 / ratio

    def by_session(server: str, reference: str) -> list[float]:
        # Each session's ratio of totals: its servers' lifetime offsets stay in it.
        sessions = sorted(set(session_of))
        return [sum(t for t, s in zip(total_us[server], session_of, strict=True) if s == k)
                / sum(t for t, s in zip(total_us[reference], session_of, strict=True) if s == k)
                for k in sessions]

    session_ratios = by_session("guarded", "bare")
    session_control = by_session("bare B", "bare A")
    cpu_ratio = median(session_ratios)
    low, high = median_interval(session_ratios)
    control_low, control_high = median_interval(session_control)
    verdict = "met" if cost(high) <= GOAL_COST else (
        "NOT met" if cost(low) > GOAL_COST else "undecided: the interval spans the goal")
    print(f"goal: cost <= {GOAL_COST:.0%} of throughput; result: {cost(cpu_ratio):+.1%} from the "
          f"median of {len(session_ratios)} sessions' server CPU ratios, 95 % interval of that "
          f"median {cost(low):+.1%} to {cost(high):+.1%} ({verdict}); the control's: "
          f"{cost(median(session_control)):+.1%} ({cost(control_low):+.1%} to "
          f"{cost(control_high):+.1%})")
    for part, reference in against:
        part_ratios = by_session(part, reference)
        part_low, part_high = median_interval(part_ratios)
        print(f"{part} against {reference}: {cost(median(part_ratios)):+.1%} from the median of "
              f"the sessions' ratios, 95 % interval {cost(part_low):+.1%} to "
              f"{cost(part_high):+.1%}")
    rounds_in_process, batch = 40, 1000
    timings = in_process(batch, rounds_in_process)
    print(f"\nin process, no sockets (this thread's CPU µs per request; {rounds_in_process} "
          f"rounds of {batch}, the apps alternating; medians (quartiles)):\n")
    in_rows = []
    for name, reference, label in (
            ("bare", "bare", "bare FastAPI app"),
            ("guarded", "bare", "+ MemwardenMiddleware (defaults)"),
            ("nothing", "nothing", "an ASGI app that does nothing"),
            ("nothing+mw", "nothing", "+ MemwardenMiddleware (defaults)")):
        added = [g - b for g, b in zip(timings[name], timings[reference], strict=True)]
        in_rows.append([label, spread(timings[name], 2),
                        "" if name == reference else spread(added, 2),
                        "" if name == reference else spread(
                            ratios(timings[name], timings[reference]))])
    print(table(["variant", "µs/request", "added µs", "ratio"], in_rows))


if __name__ == "__main__":
    main()
