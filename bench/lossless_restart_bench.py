"""Restart bench: servers restarted on a handed-off socket under load lose no request.

    python bench/lossless_restart_bench.py [--restarts 10] [--rate 250]

Plays the supervisor with sockets.bind_all/handoff (fds 3.., LISTEN_PID via the exec shim):

- uvicorn/gunicorn: a bundled app (`uvicorn app:app --fd 3`; gunicorn reads LISTEN_FDS)
            restarted --restarts times (SIGTERM, wait for exit, spawn the next generation)
            under an open-loop load of --rate requests/s, one connection per request.
            Baseline in the same run: uvicorn restarts when each generation binds the port
            itself (no hand-off).
- counter:  examples/counter_server.py restarted 20 times while a client increments; lost
            increments = acknowledged - final count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _table import table  # noqa: E402

from memwarden.supervisor import sockets  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


WORKERS = 64  # threads sending; a request waits for a free one and is then late
TIMEOUT_S = 2.0  # an answer later than this after the request was due is a failure


class Load:
    """Open-loop load: request i is due at start + i/rate whatever happened to the others,
    each on its own connection; latency counts from when it was due, and an answer more than
    TIMEOUT_S after that is a failure ("late"), as a client with a 2 s timeout sees it."""

    def __init__(self, address: tuple[str, int], rate: int, method: str, path: str) -> None:
        self.address, self.rate, self.method, self.path = address, rate, method, path
        self.latencies_s: list[float] = []
        self.failures: list[str] = []
        self.bodies: list[bytes] = []
        self.answered = 0  # 200s, late ones included (each reached the app)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self._start_s = 0.0
        self._workers = [threading.Thread(target=self._run) for _ in range(WORKERS)]

    def _one(self, due_s: float) -> None:
        conn = http.client.HTTPConnection(*self.address, timeout=TIMEOUT_S)
        try:
            conn.request(self.method, self.path)
            response = conn.getresponse()
            body = response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException) as err:
            with self._lock:
                self.failures.append(type(err).__name__)
            return
        finally:
            conn.close()
        # Open loop: latency from when the request was due, so a stall that holds back the
        # requests behind it counts for each of them (no coordinated omission).
        latency_s = time.monotonic() - due_s
        with self._lock:
            self.answered += ok
            if not ok:
                self.failures.append(f"HTTP {response.status}")
            elif latency_s > TIMEOUT_S:
                self.failures.append("late (> 2 s after it was due)")
            else:
                self.latencies_s.append(latency_s)
                self.bodies.append(body)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                index = self._next
                self._next += 1
            due_s = self._start_s + index / self.rate
            self._stop.wait(max(0.0, due_s - time.monotonic()))
            if self._stop.is_set():
                return
            self._one(due_s)

    def __enter__(self) -> Load:
        self._start_s = time.monotonic()
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)


def _spawn(command: list[str], handoff: sockets.Handoff | None, cwd: Path,
           extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        handoff.wrap(command) if handoff else command,
        env={**ENV, **(handoff.env if handoff else {}), **(extra_env or {})},
        pass_fds=handoff.pass_fds if handoff else (),
        cwd=cwd, process_group=0, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _wait_serving(address: tuple[str, int]) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection(*address, timeout=5)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            threading.Event().wait(0.02)
    raise RuntimeError(f"nothing serves on {address}")


def _restarts(command: list[str], handoff: sockets.Handoff | None, address: tuple[str, int],
              restarts: int, work: Path, extra_env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
    """Restart `restarts` times; returns the last generation, still serving."""
    child = _spawn(command, handoff, work, extra_env)
    _wait_serving(address)
    for _ in range(restarts):
        threading.Event().wait(0.3)  # some load on this generation before it restarts
        child.send_signal(signal.SIGTERM)
        child.wait(60)
        child = _spawn(command, handoff, work, extra_env)
        _wait_serving(address)
    threading.Event().wait(0.3)
    return child


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGTERM)
    child.wait(60)


def _kinds(failures: list[str]) -> str:
    counts: dict[str, int] = {}
    for failure in failures:
        counts[failure] = counts.get(failure, 0) + 1
    return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items())) or "-"


def _p99_ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[int(0.99 * (len(ordered) - 1))] * 1000:.1f}" if ordered else "-"


SERVERS = {
    "uvicorn": ["-m", "uvicorn", "app:app", "--log-level", "warning"],
    "gunicorn": ["-m", "gunicorn", "-w", "2", "--log-level", "warning", "app:wsgi"],
}


def server_rows(restarts: int, rate: int, work: Path) -> list[list[object]]:
    (work / "app.py").write_text(APP)
    rows: list[list[object]] = []
    modes = [("uvicorn", "handed-off socket (--fd 3)"), ("gunicorn", "handed-off socket"),
             ("uvicorn", "baseline: each generation binds")]
    for server, mode in modes:
        listeners = sockets.bind_all([sockets.parse_socket("tcp://127.0.0.1:0")])
        address = listeners[0].getsockname()
        command = [sys.executable, *SERVERS[server]]
        handoff: sockets.Handoff | None = sockets.handoff(listeners)
        if mode.startswith("baseline"):
            sockets.close_all(listeners)  # free the port: each generation binds it itself
            command += ["--host", address[0], "--port", str(address[1])]
            handoff = None
        elif server == "uvicorn":
            command += ["--fd", "3"]  # gunicorn reads LISTEN_FDS itself
        started = time.monotonic()
        with Load(address, rate, "GET", "/") as load:
            last = _restarts(command, handoff, address, restarts, work)
        elapsed_s = time.monotonic() - started
        _stop(last)  # after the load: nobody would serve what waits in the backlog
        sockets.close_all(listeners)
        total = len(load.latencies_s) + len(load.failures)
        rows.append([f"{server} x{restarts} restarts, {mode}", total,
                     f"{total / elapsed_s:.0f}", len(load.failures), _p99_ms(load.latencies_s),
                     "-", _kinds(load.failures)])
    return rows


def counter_row(restarts: int, rate: int, work: Path) -> list[object]:
    listeners = sockets.bind_all([sockets.parse_socket("tcp://127.0.0.1:0")])
    address = listeners[0].getsockname()
    handoff = sockets.handoff(listeners)
    db = work / "counter.sqlite3"
    command = [sys.executable, str(ROOT / "examples" / "counter_server.py"), "--db", str(db)]
    started = time.monotonic()
    with Load(address, rate, "POST", "/increment") as load:
        final = _restarts(command, handoff, address, restarts, work)
    elapsed_s = time.monotonic() - started
    conn = http.client.HTTPConnection(*address, timeout=30)
    conn.request("GET", "/count")
    count = json.loads(conn.getresponse().read())["count"]
    conn.close()
    _stop(final)
    sockets.close_all(listeners)
    total = len(load.latencies_s) + len(load.failures)
    lost = load.answered - count
    return [f"counter x{restarts} restarts, handed-off socket", total, f"{total / elapsed_s:.0f}",
            len(load.failures), _p99_ms(load.latencies_s), lost, _kinds(load.failures)]


def main() -> None:
    parser = argparse.ArgumentParser(description="restart bench")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--counter-restarts", type=int, default=20)
    parser.add_argument("--rate", type=int, default=250)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = server_rows(args.restarts, args.rate, work)
        rows.append(counter_row(args.counter_restarts, args.rate, work))
    headers = ["scenario", "requests", "req/s", "failed", "p99 ms", "lost increments", "failures"]
    print(table(headers, rows))
    print("p99: all requests of the run, restarts included (one connection per request)")


if __name__ == "__main__":
    main()
