"""`memwarden run --socket`: servers restarted for memory under load lose no request."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

ROOT = Path(__file__).resolve().parents[2]
RESTARTS = 3

# Keeps 1 MiB per request alive: a memory restart every ~60 requests under a 100M limit.
ASGI_APP = """
LEAKED = []

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    LEAKED.append(bytearray(1024 * 1024))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


WSGI_APP = """
LEAKED = []

def app(environ, start_response):
    LEAKED.append(bytearray(1024 * 1024))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Load:
    """Client threads: one request per connection until stopped, failures counted."""

    port: int
    method: str = "GET"
    path: str = "/"
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def worker(self) -> None:
        while not self.stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request(self.method, self.path)
                response = conn.getresponse()
                body = response.read()
                with self.lock:
                    if response.status == 200:
                        self.ok += 1
                        self.replies.append(body)
                    else:
                        self.failures.append(f"HTTP {response.status}")
            except (OSError, http.client.HTTPException) as err:
                with self.lock:
                    self.failures.append(repr(err))
            finally:
                conn.close()

    def run(self, threads: int) -> list[threading.Thread]:
        started = [threading.Thread(target=self.worker, daemon=True) for _ in range(threads)]
        for thread in started:
            thread.start()
        return started


def _drive(sup: Running, load: Load, threads: int = 4) -> None:
    workers = load.run(threads)
    try:
        sup.wait_log("restart (memory)", count=RESTARTS, timeout_s=90)
    finally:
        load.stop.set()
        for thread in workers:
            thread.join(60)


def test_uvicorn_on_handed_off_socket_loses_no_request(
    supervise: Callable[..., Running], tmp_path: Path
) -> None:
    (tmp_path / "leaky_asgi.py").write_text(ASGI_APP)
    port = free_port()
    # uvicorn with memwarden's draining shutdown (plain uvicorn resets a request now and then).
    command = [sys.executable, "-m", "memwarden.workers.uvicorn_serve", "--fd", "3",
               "--app-dir", str(tmp_path), "--no-access-log", "leaky_asgi:app"]
    sup = supervise("--limit", "100M", "--max-restarts", "20", "--socket",
                    f"tcp://127.0.0.1:{port}", command=command)
    sup.wait_log(f"listening on tcp://127.0.0.1:{port}")
    load = Load(port)
    _drive(sup, load)
    log = sup.log
    assert "LISTEN_FDS" in log and "killed by SIGKILL" not in log
    assert "Stopped accepting; waited" in log  # the draining shutdown ran
    assert load.ok > 0
    assert load.failures == [], f"{len(load.failures)} failed of {load.ok}: {load.failures[:5]}"
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    with socket.socket() as probe:  # memwarden closed its listening socket at exit
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_gunicorn_on_handed_off_socket_loses_no_request(
    supervise: Callable[..., Running], tmp_path: Path
) -> None:
    (tmp_path / "leaky_wsgi.py").write_text(WSGI_APP)
    port = free_port()
    # gunicorn finds the socket itself: LISTEN_FDS/LISTEN_PID (systemd socket activation).
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(tmp_path), "--workers", "1",
               "leaky_wsgi:app"]
    sup = supervise("--limit", "120M", "--max-restarts", "20", "--socket",
                    f"tcp://127.0.0.1:{port}", command=command)
    sup.wait_log(f"listening on tcp://127.0.0.1:{port}")
    load = Load(port)
    _drive(sup, load)
    assert load.ok > 0
    assert load.failures == [], f"{len(load.failures)} failed of {load.ok}: {load.failures[:5]}"
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0


def test_counter_loses_no_increment_across_memory_restarts(
    supervise: Callable[..., Running], tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, str(ROOT / "examples" / "counter_server.py"),
               "--db", str(tmp_path / "counter.sqlite3")]
    # 256 KiB kept per request, restart at 50 MiB of a 100M wall: the policy's restarts, with
    # room for the page cache and kernel memory that run ahead of RSS. At the wall itself the
    # kernel may refuse the server a thread (docs/guides/zero-downtime.md).
    sup = supervise("--limit", "100M", "--warn", "30%", "--critical", "40%", "--restart", "50%",
                    "--max-restarts", "20", "--socket",
                    f"tcp://127.0.0.1:{port}", command=command,
                    COUNTER_LEAK_BYTES=str(256 * 1024))
    sup.wait_log(f"listening on tcp://127.0.0.1:{port}")
    load = Load(port, method="POST", path="/increment")
    _drive(sup, load)
    assert load.failures == [], f"{len(load.failures)} failed of {load.ok}: {load.failures[:5]}"
    counts = sorted(json.loads(body)["count"] for body in load.replies)
    assert counts == list(range(1, load.ok + 1))  # every acknowledged increment, once
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/count")
    assert json.loads(conn.getresponse().read())["count"] == load.ok
    conn.close()
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    wait_for(lambda: not tagged_pids(sup.tag), what="every process gone")


def test_busy_socket_is_exit_2_naming_it(supervise: Callable[..., Running]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sup = supervise("--socket", f"tcp://127.0.0.1:{port}",
                        command=[sys.executable, "-c", "print('never')"])
        assert sup.exit_code() == 2
    assert f"socket='tcp://127.0.0.1:{port}': cannot listen" in sup.log
    assert "never" not in sup.out
