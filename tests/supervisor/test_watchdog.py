"""Watchdog, for real: a server that stops answering and a program that stops pinging are hung."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from memwarden.supervisor.watchdog import HealthProbe, Hung, NotifySocket, ProbeConfig, sd_notify
from tests.supervisor.lossless_helpers import DEADLINE_S, read_line, wait_readable

SRC = Path(__file__).resolve().parents[2] / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC)}

HANGING_SERVER = r"""
import os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
hang_file = sys.argv[1]
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists(hang_file):
            threading.Event().wait()  # stuck, like a deadlocked worker
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""

PINGER = r"""
import sys
from memwarden.supervisor.watchdog import sd_notify
sd_notify("READY=1\nSTATUS=serving")
for _ in range(3):
    sd_notify("WATCHDOG=1")
sd_notify(sys.argv[1]) if len(sys.argv) > 1 else None
print("stopped pinging", flush=True)
sys.stdin.read()
"""


def _wait_for_verdict(probe: HealthProbe) -> Hung | None:
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        if wait_readable(probe, end - time.monotonic()):
            probe.drain()
            verdict = probe.verdict()
            if verdict is not None:
                return verdict
    return None


def test_server_that_stops_answering_is_hung(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    hang_file = tmp_path / "hang"
    child = subprocess.Popen(
        [sys.executable, "-c", HANGING_SERVER, str(hang_file)], stdout=subprocess.PIPE
    )
    reaper.append(child)
    port = int(read_line(child))
    config = ProbeConfig(f"http://127.0.0.1:{port}/health", interval_s=0.1, timeout_s=0.5,
                         failure_threshold=3)
    probe = HealthProbe(config).start()
    try:
        passed = 0
        while passed < 2:
            assert wait_readable(probe)
            results = probe.drain()
            passed += sum(r.ok for r in results)
            assert all(r.detail == "HTTP 200" for r in results)
            assert probe.verdict() is None
        assert probe.passed
        hang_file.touch()
        verdict = _wait_for_verdict(probe)
        assert verdict is not None
        assert verdict.reason == "watchdog"
        assert "3 consecutive health probes" in verdict.detail
        assert "timed out after 0.5s" in verdict.detail
        probe.reset()
        assert probe.verdict() is None and not probe.passed
    finally:
        probe.close()


def test_failures_in_the_start_period_do_not_count() -> None:
    # Nothing listens on this port (bound, never listening): every probe is refused.
    import socket

    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{placeholder.getsockname()[1]}/"
        patient = HealthProbe(ProbeConfig(url, interval_s=0.05, failure_threshold=2,
                                          start_period_s=3600)).start()
        strict = HealthProbe(ProbeConfig(url, interval_s=0.05, failure_threshold=2)).start()
        try:
            verdict = _wait_for_verdict(strict)
            assert verdict is not None and "refused" in verdict.detail.lower()
            refused = 0
            while refused < 3:
                assert wait_readable(patient)
                refused += sum(not r.ok for r in patient.drain())
            assert patient.verdict() is None
        finally:
            patient.close()
            strict.close()


def _collect(notify: NotifySocket, until: object) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    end = time.monotonic() + DEADLINE_S
    while not until(messages) and time.monotonic() < end:  # type: ignore[operator]
        if wait_readable(notify, end - time.monotonic()):
            messages.extend(notify.drain())
    return messages


def test_program_that_stops_sending_watchdog_is_hung(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    notify = NotifySocket(tmp_path / "notify.sock", watchdog_s=0.3)
    try:
        assert notify.env()["WATCHDOG_USEC"] == "300000"
        child = subprocess.Popen(
            [sys.executable, "-c", PINGER], env={**ENV, **notify.env()},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        reaper.append(child)
        messages = _collect(notify, lambda m: sum(x.get("WATCHDOG") == "1" for x in m) == 3)
        assert messages[0] == {"READY": "1", "STATUS": "serving"}
        assert notify.ready and notify.status == "serving"
        assert read_line(child) == "stopped pinging"
        deadline = notify.next_deadline_s()
        assert deadline is not None
        assert notify.verdict(deadline - 0.001) is None
        verdict = None
        end = time.monotonic() + DEADLINE_S
        while verdict is None and time.monotonic() < end:
            wait_readable(notify, max(0.0, deadline - time.monotonic()))
            notify.drain()
            verdict = notify.verdict()
        assert verdict is not None
        assert verdict.reason == "watchdog"
        assert "no WATCHDOG=1" in verdict.detail
    finally:
        notify.close()
    assert not (tmp_path / "notify.sock").exists()


def test_watchdog_trigger_and_new_timeout(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    notify = NotifySocket(tmp_path / "n.sock", watchdog_s=3600)
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", PINGER, "WATCHDOG_USEC=5000000\nWATCHDOG=trigger"],
            env={**ENV, **notify.env()}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        reaper.append(child)
        _collect(notify, lambda m: any("WATCHDOG_USEC" in x for x in m))
        assert notify.watchdog_s == 5.0
        verdict = notify.verdict()
        assert verdict is not None and "trigger" in verdict.detail
        notify.reset()
        assert notify.verdict() is None
    finally:
        notify.close()


def test_sd_notify_without_socket_is_a_no_op() -> None:
    assert sd_notify("READY=1", environ={}) is False
