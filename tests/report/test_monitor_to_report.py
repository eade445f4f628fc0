"""End to end with real parts: `memwarden monitor` records a growing child, `memwarden report`
draws it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.helpers import child_env, memwarden_cmd

GROWER = r"""
import sys, threading
held = [bytearray(80 * 2**20)]  # past the 60 MiB warn threshold before monitoring starts
open(sys.argv[1], "w").close()  # ready
stop = threading.Event()
while not stop.wait(0.05):
    if len(held) < 60:
        held.append(bytearray(2**20))  # then 1 MiB per 50 ms: a rising line
"""


def _wait_for(path: Path, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while not path.exists():
        assert time.monotonic() < end, f"{path} did not appear"
        threading.Event().wait(0.02)  # polling the readiness file


def test_monitor_trace_makes_a_report(tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
                                      ) -> None:
    ready = tmp_path / "ready"
    script = tmp_path / "grower.py"
    script.write_text(GROWER)
    child = subprocess.Popen([sys.executable, str(script), str(ready)], env=child_env(),
                             start_new_session=True)
    reaper.append(child)
    _wait_for(ready)
    trace = tmp_path / "trace.jsonl"
    monitor = subprocess.run(
        memwarden_cmd("monitor", str(child.pid), "--interval", "100ms", "--duration", "3s",
                      "--limit", "200M", "--warn", "60M", "--plain", "--out", str(trace)),
        env=child_env(), capture_output=True, text=True, timeout=120,
    )
    assert monitor.returncode == 0, monitor.stderr
    out = tmp_path / "report.html"
    result = subprocess.run(memwarden_cmd("report", str(trace), "--out", str(out)),
                            env=child_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "series series-tree_rss_bytes" in html and "level level-warn" in html
    assert "200 MiB" in html  # the limit card
    assert f"pid {child.pid}" in html
    assert "tier tier-warn" in html  # the child holds more than 60 MiB
