"""Zero-downtime bench through `memwarden run --socket`: memory restarts under load.

    /work/venv/bin/python bench/supervisor_socket_bench.py [--restarts 10] [--rate 250]
        [--only uvicorn,memwarden,gunicorn,baseline,counter]

Each server keeps 256 KiB alive per request, so under `--limit 120M` and an open-loop load of
--rate requests/s (one connection per request, 8 client threads) memwarden restarts it for
memory every second or so, until --restarts memory restarts were logged:

- uvicorn / gunicorn on the socket memwarden binds once (`--socket tcp://127.0.0.1:PORT`)
- the same uvicorn app through `python -m memwarden.workers.uvicorn_serve` (draining shutdown)
- counter: examples/counter_server.py (--counter-restarts, 20 by default); lost increments =
  acknowledged - the final count
- baseline: uvicorn under `memwarden run` binding the port itself each generation
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
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
from lossless_restart_bench import Load, _kinds, _p99_ms  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
LEAK_BYTES = 256 * 1024
APP = f"""
LEAKED = []

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    LEAKED.append(bytearray({LEAK_BYTES}))
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"ok"}})


def wsgi(environ, start_response):
    LEAKED.append(bytearray({LEAK_BYTES}))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_serving(address: tuple[str, int], path: str) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection(*address, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            threading.Event().wait(0.05)
    raise RuntimeError(f"nothing serves on {address}")


def scenario(name: str, command: list[str], *, port: int, socket_mode: bool, restarts: int,
             rate: int, work: Path, method: str = "GET", path: str = "/",
             extra_env: dict[str, str] | None = None) -> list[object]:
    log = work / f"{name.split()[0]}-{port}.log"
    argv = [sys.executable, "-m", "memwarden", "run", "--limit", "120M", "--max-restarts",
            str(restarts * 3), "--control-socket", str(work / f"{port}.sock")]
    if socket_mode:
        argv += ["--socket", f"tcp://127.0.0.1:{port}"]
    with open(log, "wb") as err:
        sup = subprocess.Popen([*argv, "--", *command], env={**ENV, **(extra_env or {})},
                               cwd=work, stdout=subprocess.DEVNULL, stderr=err)
    address = ("127.0.0.1", port)
    wait_serving(address, "/count" if path == "/increment" else "/")
    started = time.monotonic()
    deadline = started + 120 + restarts * 10
    with Load(address, rate, method, path) as load:
        while time.monotonic() < deadline and sup.poll() is None:
            if log.read_text(errors="replace").count("restart (memory)") >= restarts:
                break
            threading.Event().wait(0.1)
    elapsed_s = time.monotonic() - started
    lost: object = "-"
    if path == "/increment":
        conn = http.client.HTTPConnection(*address, timeout=30)
        conn.request("GET", "/count")
        lost = load.answered - json.loads(conn.getresponse().read())["count"]
        conn.close()
    sup.send_signal(signal.SIGTERM)
    sup.wait(60)
    done = log.read_text(errors="replace").count("restart (memory)")
    total = len(load.latencies_s) + len(load.failures)
    return [name, done, total, f"{total / elapsed_s:.0f}", len(load.failures),
            _p99_ms(load.latencies_s), lost, _kinds(load.failures)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--counter-restarts", type=int, default=20)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--only", default="",
                        help="comma-separated name prefixes of the scenarios to run")
    args = parser.parse_args()
    wanted = [prefix for prefix in args.only.split(",") if prefix]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "app.py").write_text(APP)
        python = sys.executable
        for name, command, socket_mode in [
            ("uvicorn --socket (--fd 3)", [python, "-m", "uvicorn", "--fd", "3",
                                           "--log-level", "warning", "app:app"], True),
            ("memwarden.workers.uvicorn_serve --socket (--fd 3)",
             [python, "-m", "memwarden.workers.uvicorn_serve", "--fd", "3", "--log-level",
              "warning", "app:app"], True),
            ("gunicorn --socket (LISTEN_FDS)", [python, "-m", "gunicorn", "-w", "2",
                                                "--log-level", "warning", "app:wsgi"], True),
            ("baseline: uvicorn binds each generation", None, False),
        ]:
            if wanted and not any(name.startswith(prefix) for prefix in wanted):
                continue
            port = free_port()
            if command is None:
                command = [python, "-m", "uvicorn", "--port", str(port), "--log-level",
                           "warning", "app:app"]
            rows.append(scenario(name, command, port=port, socket_mode=socket_mode,
                                 restarts=args.restarts, rate=args.rate, work=work))
        if not wanted or any(prefix.startswith("counter") for prefix in wanted):
            counter = [python, str(ROOT / "examples" / "counter_server.py"), "--db",
                       str(work / "counter.sqlite3")]
            rows.append(scenario("counter --socket", counter, port=free_port(),
                                 socket_mode=True, restarts=args.counter_restarts,
                                 rate=args.rate, work=work, method="POST", path="/increment",
                                 extra_env={"COUNTER_LEAK_BYTES": str(LEAK_BYTES)}))
    print(table(["scenario", "memory restarts", "requests", "req/s", "failed", "p99 ms",
                 "lost increments", "failures"], rows))
    print("p99: every request of the run, restarts included (one connection per request)")


if __name__ == "__main__":
    main()
