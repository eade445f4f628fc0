"""examples/counter_server.py: no increment is lost across graceful restarts on a handed-off
socket, and a periodic checkpoint bounds the loss of a kill nobody could prevent."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from memwarden.supervisor import sockets
from tests.supervisor.lossless_helpers import read_line, wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "examples" / "counter_server.py"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _request(address: tuple[str, int], method: str, path: str) -> int:
    conn = http.client.HTTPConnection(*address, timeout=60)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        assert response.status == 200
        return int(json.loads(response.read())["count"])
    finally:
        conn.close()


def _spawn(
    reaper: list[subprocess.Popen[bytes]], db: Path, *args: str, handoff: sockets.Handoff | None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(SERVER), "--db", str(db), *args]
    child = subprocess.Popen(
        handoff.wrap(command) if handoff else command,
        env={**ENV, **(handoff.env if handoff else {})},
        pass_fds=handoff.pass_fds if handoff else (),
        stdout=subprocess.PIPE,
        process_group=0,
    )
    reaper.append(child)
    return child


def test_no_increment_lost_across_restarts_under_load(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    db = tmp_path / "counter.sqlite3"
    listeners = sockets.bind_all([sockets.parse_socket("tcp://127.0.0.1:0")])
    address = listeners[0].getsockname()
    handoff = sockets.handoff(listeners)
    acknowledged: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                acknowledged.append(_request(address, "POST", "/increment"))
            except (OSError, AssertionError, ValueError) as err:
                failures.append(repr(err))

    worker = threading.Thread(target=client)
    try:
        child = _spawn(reaper, db, handoff=handoff)
        assert "inherited fd 3" in read_line(child)
        worker.start()
        for _generation in range(3):
            start = len(acknowledged)
            assert wait_until(lambda s=start: len(acknowledged) >= s + 20)
            child.send_signal(signal.SIGTERM)  # while the client keeps incrementing
            assert child.wait(60) == 0
            child = _spawn(reaper, db, handoff=handoff)
            assert read_line(child).startswith("counter_server: count ")
        start = len(acknowledged)
        assert wait_until(lambda: len(acknowledged) >= start + 20)
        stop.set()
        worker.join(60)
        assert failures == []
        assert _request(address, "GET", "/count") == len(acknowledged) == max(acknowledged)
    finally:
        stop.set()
        if worker.is_alive():
            worker.join(60)
        sockets.close_all(listeners)


def test_checkpoint_bounds_what_a_sigkill_loses(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    db = tmp_path / "counter.sqlite3"
    child = _spawn(reaper, db, "--port", "0", "--checkpoint", "200ms", handoff=None)
    line = read_line(child)
    assert "(bound)" in line
    address = ("127.0.0.1", int(line.split(":")[-1].split()[0]))
    for _ in range(5):
        _request(address, "POST", "/increment")

    def saved() -> int:
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT value FROM counter WHERE id = 1").fetchone()
        conn.close()
        return int(row[0]) if row else 0

    assert wait_until(lambda: saved() == 5)  # the periodic checkpoint, no shutdown involved
    child.kill()
    child.wait(60)
    child = _spawn(reaper, db, "--port", "0", handoff=None)
    assert read_line(child).startswith("counter_server: count 5,")


def test_leak_knob_keeps_memory_per_request(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    command = [sys.executable, str(SERVER), "--db", str(tmp_path / "c.sqlite3"), "--port", "0"]
    child = subprocess.Popen(
        command, env={**ENV, "COUNTER_LEAK_BYTES": str(16 << 20)}, stdout=subprocess.PIPE
    )
    reaper.append(child)
    address = ("127.0.0.1", int(read_line(child).split(":")[-1].split()[0]))

    def rss_bytes() -> int:
        status = Path(f"/proc/{child.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) * 1024

    before = rss_bytes()
    for _ in range(4):
        _request(address, "POST", "/increment")
    assert rss_bytes() - before >= 4 * (16 << 20) * 9 // 10
