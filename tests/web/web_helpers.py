"""Real servers on 127.0.0.1 for the web tests: start, wait for readiness, talk raw HTTP.

The `serve` fixture reaches test modules through tests/web/conftest.py."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import child_env

APPS = Path(__file__).resolve().parent / "apps"
REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEADLINE_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                body: bytes | None = None, timeout_s: float = DEADLINE_S) -> Reply:
        """Raw http.client: the path is sent exactly as given (no normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         response.read())
        finally:
            conn.close()

    def post_chunked(self, path: str, chunks: list[bytes]) -> Reply:
        """A body without Content-Length (Transfer-Encoding: chunked)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE_S)
        try:
            conn.request("POST", path, body=iter(chunks), encode_chunked=True)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         response.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                pytest.fail(f"server exited ({self.process.returncode}) waiting for {what}:\n"
                            + self.log())
            time.sleep(0.05)  # polling a condition, with a deadline
        pytest.fail(f"timed out waiting for {what}:\n{self.log()}")


@pytest.fixture
def serve(reaper: list[subprocess.Popen[bytes]], tmp_path: Path) -> Iterator[
        Callable[..., Server]]:
    """serve(argv_with_{port}, **env) starts a server and waits until /health answers."""

    def start(argv: list[str], cwd: Path = APPS, **env: str) -> Server:
        port = free_port()
        workdir = tmp_path / f"server-{port}"
        workdir.mkdir()
        log_path = workdir / "server.log"
        # Snapshots (POST /memory/snapshot) go to the test's directory, not the working dir.
        environment = child_env(WEBTEST_DIR=str(workdir), MEMWARDEN_SNAPSHOT_DIR=str(workdir),
                                **env)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(APPS), str(REPO_ROOT), environment["PYTHONPATH"]])
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [a.replace("{port}", str(port)) for a in argv], cwd=cwd, env=environment,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        reaper.append(process)
        server = Server(port, process, log_path, workdir)

        def answers() -> bool:
            try:
                server.get("/health", timeout_s=5)
            except OSError:
                return False
            return True

        server.wait_for(answers, "the server to answer")
        return server

    yield start


def uvicorn_argv(app: str) -> list[str]:
    return [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", "{port}",
            "--log-level", "warning"]


def gunicorn_argv(app: str, *extra: str) -> list[str]:
    return [str(BIN / "gunicorn"), app, "--bind", "127.0.0.1:{port}", "--workers", "2",
            "--graceful-timeout", "5", *extra]


# Memory settings that never exit the process; intervals short so tests wait little.
CALM = {"MEMWARDEN_RESTART": "off", "MEMWARDEN_INTERVAL": "100ms", "MEMWARDEN_METRIC": "tree_rss"}
