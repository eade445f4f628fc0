"""`memwarden demo` end to end: one real run (service under `memwarden run`, load, report),
then its key moments asserted from its output and its artefacts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from memwarden.trace import read_trace
from tests.helpers import child_env, memwarden_cmd

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                                  Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    # 30 s of load; the demo runs on (up to a minute) until the restart happened.
    result = subprocess.run(memwarden_cmd("demo", "--duration", "30s", "--out", str(out)),
                            env=child_env(), capture_output=True, text=True, timeout=240)
    return result, out


@pytest.fixture(scope="module")
def summary(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    result, out = demo_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def test_leak_detected_with_rate_and_eta(demo_run: Any, summary: dict[str, Any]) -> None:
    leak = summary["leak"]
    assert leak["phase"] == "detected"
    assert leak["rate_bytes_per_h"] > 0 and leak["eta_s"] > 0
    assert "leak detected: +" in demo_run[0].stdout
    assert "reaches the limit in" in demo_run[0].stdout


def test_culprit_named_by_owner_path(demo_run: Any, summary: dict[str, Any]) -> None:
    owner = "memwarden.demo.app:service.processed_records (set)"
    assert summary["culprit"]["top_owner_growth"].startswith(owner)
    line = next(x for x in demo_run[0].stdout.splitlines() if "culprit: " in x)
    assert "processed_records" in line and "memwarden.demo.app:" not in line  # plain words


def test_load_shed_at_critical(demo_run: Any, summary: dict[str, Any]) -> None:
    # The background feed keeps the leak growing while requests are shed, so critical is
    # always crossed on the way to the restart tier.
    assert summary["requests"]["shed_503"] > 0
    assert "load shedding ON" in demo_run[0].stdout
    kinds = [m["kind"] for m in summary["milestones"]]
    assert kinds.index("shed") < kinds.index("restart")


def test_graceful_restart_keeps_state(demo_run: Any, summary: dict[str, Any]) -> None:
    assert summary["restarts"] and summary["restarts"][0]["reason"] == "memory"
    saved, restored = summary["state_saved"][0], summary["state_restored"][0]
    assert saved["events_total"] > 0
    assert restored == saved
    out = demo_run[0].stdout
    assert f"state saved: {saved['events_total']:,} events" in out
    assert f"restored: {restored['events_total']:,} events" in out


def test_no_request_failed(demo_run: Any, summary: dict[str, Any]) -> None:
    requests = summary["requests"]
    assert requests["failed"] == 0
    assert requests["ok"] == requests["sent"] > 100
    assert f"0 failed requests of {requests['sent']:,}" in demo_run[0].stdout


def test_report_written_with_chart_and_restart(demo_run: Any, summary: dict[str, Any]) -> None:
    result, out = demo_run
    report = out / "report.html"
    html = report.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<svg" in html and "</html>" in html
    assert "processed_records" in html and "restart (memory)" in html
    assert f"report: {report}" in result.stdout
    restarts = [r for r in read_trace(out / "trace.jsonl")
                if r.get("type") == "event" and r.get("kind") == "restart"]
    assert len(restarts) == len(summary["restarts"])


def test_bad_duration_is_a_usage_error(run_cli: Any) -> None:
    result = run_cli("demo", "--duration", "5s")
    assert result.returncode == 2
    assert "duration='5s'" in result.stderr


def test_help_documents_options(run_cli: Any) -> None:
    result = run_cli("demo", "--help")
    assert result.returncode == 0
    for option in ("--duration", "--out", "--plain"):
        assert option in result.stdout
