"""The child programs' marker protocol, with real processes (no timing asserted)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import compare_procs
import marker
import pytest

CHILDREN = Path(__file__).resolve().parents[2] / "bench" / "compare" / "children"
MIB = 2**20


def start(reaper: list[subprocess.Popen[bytes]], name: str, markers: Path,
          *args: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, str(CHILDREN / name), "--markers", str(markers),
                              *args], start_new_session=True)
    reaper.append(child)
    return child


def wait_event(markers: Path, event: str, pid: int | None = None) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((rec for rec in marker.read_markers(str(markers))
                     if rec["event"] == event and pid in (None, rec["pid"])), None)

    found = compare_procs.wait_for(find, 60.0)
    assert found is not None, f"no {event!r} marker in {markers.read_text()!r}"
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_runs_the_hook_then_exits_zero(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]], signum: int
) -> None:
    markers = tmp_path / "markers.jsonl"
    child = start(reaper, "idle.py", markers)
    wait_event(markers, "ready")
    child.send_signal(signum)
    assert child.wait(timeout=60) == 0
    events = [(rec["event"], rec["pid"]) for rec in marker.read_markers(str(markers))]
    assert events == [("ready", child.pid), ("signal", child.pid), ("hook", child.pid)]
    assert marker.read_markers(str(markers))[1]["signum"] == signum


def test_leaker_records_crossing_its_threshold_from_its_own_rss(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    markers = tmp_path / "markers.jsonl"
    child = start(reaper, "leaker.py", markers, "--threshold-bytes", str(60 * MIB),
                  "--start-bytes", str(40 * MIB), "--rate-bytes-per-s", str(100 * MIB),
                  "--max-bytes", str(80 * MIB))
    ready = wait_event(markers, "ready")
    crossed = wait_event(markers, "crossed")
    assert ready["rss_bytes"] < 60 * MIB <= crossed["rss_bytes"]
    assert crossed["t"] >= ready["t"]
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=60) == 0
    signalled = wait_event(markers, "signal")
    assert signalled["rss_bytes"] >= crossed["rss_bytes"]
    wait_event(markers, "hook")


def test_tree_parent_spawns_a_grandchild_it_does_not_stop(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    markers = tmp_path / "markers.jsonl"
    parent = start(reaper, "tree_parent.py", markers, "--parent-bytes", str(10 * MIB),
                   "--grandchild-bytes", str(30 * MIB))
    ready = wait_event(markers, "ready", parent.pid)
    grandchild = ready["grandchild_pid"]
    assert wait_event(markers, "grandchild_ready", grandchild)["rss_bytes"] >= 30 * MIB
    assert compare_procs.subtree([parent.pid]) >= {parent.pid, grandchild}
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=60) == 0
    assert compare_procs.alive(grandchild)  # the naive app leaves it: the supervisor's job
    os.kill(grandchild, signal.SIGTERM)
    wait_event(markers, "hook", grandchild)


def test_partial_marker_lines_are_skipped(tmp_path: Path) -> None:
    markers = tmp_path / "markers.jsonl"
    marker.record(str(markers), "ready", rss_bytes=1)
    with markers.open("a") as out:
        out.write('{"event": "sig')
    assert [rec["event"] for rec in marker.read_markers(str(markers))] == ["ready"]
    assert marker.read_markers(str(tmp_path / "missing.jsonl")) == []


def test_server_answers_and_leaks_then_stops_on_sigint(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    import http.client
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    markers = tmp_path / "markers.jsonl"
    server = start(reaper, "server.py", markers, "--port", str(port),
                   "--leak-bytes-per-request", str(4 * MIB))
    ready = wait_event(markers, "ready")
    for _ in range(5):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"ok\n"
        connection.close()
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=60) == 0
    assert wait_event(markers, "signal")["rss_bytes"] >= ready["rss_bytes"] + 20 * MIB
    wait_event(markers, "hook")


def test_a_stop_inside_the_crossing_step_dates_the_crossing_to_that_step(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    # One step of 200 MiB from 40 MiB crosses a 60 MiB threshold; the stop signal arrives
    # while the child holds it, before its next check (the step period is 50 ms, the sleep
    # after the step is what the signal interrupts at the latest).
    markers = tmp_path / "markers.jsonl"
    child = start(reaper, "leaker.py", markers, "--threshold-bytes", str(60 * MIB),
                  "--start-bytes", str(40 * MIB), "--rate-bytes-per-s", str(4000 * MIB),
                  "--max-bytes", str(400 * MIB))
    wait_event(markers, "ready")

    def rss_above_threshold() -> bool | None:
        statm = Path(f"/proc/{child.pid}/statm").read_text().split()
        return True if int(statm[1]) * os.sysconf("SC_PAGE_SIZE") >= 60 * MIB else None

    assert compare_procs.wait_for(rss_above_threshold, 60)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=60) == 0
    events = {rec["event"]: rec for rec in marker.read_markers(str(markers))}
    crossed, signalled = events["crossed"], events["signal"]
    assert crossed["rss_bytes"] >= 60 * MIB
    assert crossed["t"] <= signalled["t"]
    assert "hook" in events
