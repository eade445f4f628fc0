"""`memwarden monitor` on a real child: plain lines, a JSONL trace, exit when the pid exits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from memwarden.trace import SCHEMA, read_trace
from tests.cgroup_helpers import spawn_allocator, wait_ready
from tests.helpers import child_env

MIB = 2**20
RunCli = Callable[..., subprocess.CompletedProcess[str]]


def test_monitor_writes_a_trace_with_samples_and_tier_events(
    run_cli: RunCli, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    child = spawn_allocator(80 * MIB)
    reaper.append(child)
    pid = wait_ready(child)
    out = tmp_path / "trace.jsonl"
    result = run_cli("monitor", str(pid), "--interval", "100ms", "--duration", "1s",
                     "--out", str(out), "--limit", "120M", "--metric", "tree_rss")
    assert result.returncode == 0, result.stderr
    records = list(read_trace(out))
    assert records[0]["type"] == "header" and records[0]["schema"] == SCHEMA
    samples = [r for r in records if r["type"] == "sample"]
    assert 5 <= len(samples) <= 12
    assert all(s["tree_rss_bytes"] >= 80 * MIB for s in samples)
    assert samples[0]["limit_bytes"] == 120 * MIB and samples[0]["limit_source"] == "budget"
    assert samples[-1]["tier"] == "warn"  # 80+ MiB of a 120 MiB budget: between 70% and 85%
    events = [r for r in records if r["type"] == "event"]
    assert [(e["kind"], e["tier"]) for e in events] == [("tier", "warn")]
    # Not a terminal: one plain line per sample, transitions spelled out.
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"memwarden monitor: pid {pid} and its tree, tree_rss against")
    assert lines[1].startswith("tiers: warn 84.0 MiB, critical 102.0 MiB, restart 114.0 MiB")
    stamped = [line for line in lines[2:] if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d ", line)]
    assert len(stamped) == len(lines) - 2  # every line after the header has a timestamp
    assert sum(line[20:].startswith("WARN ") for line in stamped) == len(samples)
    assert sum(line[20:] == "tier ok -> warn" for line in stamped) == 1
    assert all(len(line) <= 80 for line in lines[1:])
    json.dumps(records)  # every record is plain JSON


def test_monitor_stops_when_the_process_exits(
    run_cli: RunCli, reaper: list[subprocess.Popen[bytes]]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
    )
    reaper.append(child)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    monitor = subprocess.Popen(
        [sys.executable, "-m", "memwarden", "monitor", str(child.pid), "--interval", "50ms",
         "--plain"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=child_env(),
    )
    assert monitor.stdout is not None
    first = monitor.stdout.readline()  # monitoring has begun
    assert "tree_rss" in first or "working_set" in first
    assert child.stdin is not None
    child.stdin.close()  # the child exits
    child.wait(timeout=30)
    _, stderr = monitor.communicate(timeout=30)
    assert monitor.returncode == 0
    assert f"process {child.pid} exited" in stderr
