"""The supervisor's event stream, end to end: a real memory restart under `memwarden run`
reaches a real webhook receiver as MemwardenRestart, lands in the `--trace` file, and
`memwarden report` of that trace shows it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from memwarden.report.model import load_trace
from memwarden.report.summary import summarise
from tests.alerts.alerts_receiver import Receiver
from tests.supervisor.sup_helpers import GROWS_ONCE, Running, child_env, memwarden_cmd, wait_for


def test_memory_restart_reaches_webhook_trace_and_report(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path, receiver: Receiver,
) -> None:
    trace = tmp_path / "run.jsonl"
    command = [*script("grows", GROWS_ONCE), str(tmp_path / "marker")]
    sup = supervise("--limit", "150M", "--trace", str(trace), command=command,
                    MEMWARDEN_WEBHOOK_URL=receiver.url + "/hook",
                    MEMWARDEN_WEBHOOK_FORMAT="json", MEMWARDEN_ALERT_SERVICE="checkout")
    sup.wait_log("restart (memory)")
    sup.wait_log("second run: idle", stream="out")
    wait_for(lambda: any(r.body["alertname"] == "MemwardenRestart" for r in receiver.requests),
             what="the restart alert")
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0

    alert = next(r.body for r in receiver.requests if r.body["alertname"] == "MemwardenRestart")
    assert alert["labels"]["source"] == "supervisor:grows"
    assert alert["labels"]["service"] == "checkout"
    assert alert["event"]["figures"]["reason"] == "memory"
    assert alert["summary"].startswith("restart (memory): tree RSS ")

    assert stat.S_IMODE(os.stat(trace).st_mode) == 0o600
    loaded = load_trace(trace)
    assert [s.name for s in loaded.series] == ["grows"]
    kinds = [e.kind for e in loaded.events]
    assert kinds.count("started") == 2 and kinds.count("restart") == 1
    assert "tier" in kinds and "exit" in kinds
    restart = next(e for e in loaded.events if e.kind == "restart")
    assert restart.program == "grows" and restart.figures["reason"] == "memory"
    assert summarise(loaded, loaded.series[0]).restarts == 1

    report = tmp_path / "report.html"
    result = subprocess.run(memwarden_cmd("report", str(trace), "--out", str(report)),
                            env=child_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 restart," in result.stdout
    html = report.read_text()
    assert "restart (memory)" in html


def test_trace_refuses_a_symlink_and_a_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "trace.jsonl"
    link.symlink_to(target)
    refused = subprocess.run(memwarden_cmd("run", "--trace", str(link), "--", "true"),
                             env=child_env(), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert str(link) in refused.stderr and not target.exists()
    missing = subprocess.run(memwarden_cmd("run", "--trace", str(tmp_path / "no" / "t.jsonl"),
                                           "--", "true"),
                             env=child_env(), capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "trace=" in missing.stderr
    assert "no such directory" in missing.stderr and "Traceback" not in missing.stderr


def test_json_log_lines_carry_the_event_kind(supervise: Callable[..., Running]) -> None:
    sup = supervise("--json", "--max-restarts", "1", command=["sh", "-c", "exit 3"])
    assert sup.exit_code() == 3  # errored after its one restart: its own status
    records = [json.loads(line) for line in sup.log.splitlines()]
    kinds = [r.get("kind") for r in records if r.get("program") == "sh"]
    assert "started" in kinds and "exit" in kinds and "restart" in kinds
    crash = next(r for r in records if r.get("kind") == "restart")
    assert crash["reason"] == "crash" and crash["level"] == "warning"
    assert records[-2]["kind"] == "stopped" and records[-2]["state"] == "errored"
