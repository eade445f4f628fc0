"""Real uvicorn: a connection accepted just before SIGTERM whose request comes a moment later.

Plain uvicorn closes it unanswered; `python -m memwarden.workers.uvicorn_serve` serves it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.helpers import child_env
from tests.workers.workers_helpers import free_port, serving, wait_until

pytest.importorskip("uvicorn")

APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"served"})
"""


def accepted(pid: int, peer: tuple[str, int]) -> bool:
    """The server process holds the connection from `peer`: it has accepted it."""
    return any(tuple(c.raddr) == peer for c in psutil.Process(pid).net_connections("tcp")
               if c.raddr)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _late_request_answer(module: str, tmp_path: Path,
                         reaper: list[subprocess.Popen[bytes]]) -> bytes:
    (tmp_path / "lateapp.py").write_text(APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), "--app-dir", str(tmp_path),
         "--log-level", "info", "lateapp:app"],
        env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    reaper.append(server)
    wait_until(lambda: serving(f"http://127.0.0.1:{port}/"), "uvicorn serving")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        wait_until(lambda: accepted(server.pid, client.getsockname()), "uvicorn accepting it")
        server.send_signal(signal.SIGTERM)
        wait_until(lambda: refused(port), "uvicorn closing its listening socket")
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        try:
            while chunk := client.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
    # uvicorn >= 0.29 re-raises the SIGTERM it handled once its shutdown is done.
    assert server.wait(15) in (0, -signal.SIGTERM)
    return answer


def test_draining_server_answers_a_request_sent_after_sigterm(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    answer = _late_request_answer("memwarden.workers.uvicorn_serve", tmp_path, reaper)
    # The whole response, then the server closed the connection (recv returned b"").
    assert answer.startswith(b"HTTP/1.1 200") and b"\r\nserved\r\n0\r\n\r\n" in answer, answer


def test_plain_uvicorn_closes_the_same_connection_unanswered(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    # The caveat uvicorn_serve exists for; if a uvicorn release fixes it, this test says so.
    assert _late_request_answer("uvicorn", tmp_path, reaper) == b""
