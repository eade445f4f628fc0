"""`import memwarden; memwarden.start()` loads what sampling needs and nothing heavy: actions,
alerts, the leak watch's fit, logging, the config file's parser, the trace writer, the web
integration and their libraries load on first use. Checked by sys.modules in a fresh
interpreter, after the guardian thread has ticked, and again once each part is used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import child_env

# Each is either large (ctypes, hashlib with OpenSSL, tomllib, asyncio, http clients) or
# only needed once something happens (a cleanup, a restart, an alert, a request, a trace).
HEAVY = (
    "asyncio", "ctypes", "email", "hashlib", "http.client", "httpx", "psutil",
    "prometheus_client", "socket", "ssl", "subprocess", "tempfile", "tomllib", "tracemalloc",
    "urllib.request", "memwarden.actions", "memwarden.alerts.sender", "memwarden.alerts.http",
    "memwarden.leak.census", "memwarden.leak.attribute", "memwarden.trace", "memwarden.web",
    "memwarden.cli", "memwarden.supervisor", "json", "memwarden.leak.snapshot",
    # Standard modules the sampling path does without (memwarden.record, TYPE_CHECKING).
    "typing", "dataclasses", "inspect",
)
# Loaded when used: each has a test below that uses it.
ALERTS = ("memwarden.alerts", "memwarden.alerts.config")
LEAK_FIT = ("memwarden.leak.watch", "memwarden.leak.detector", "memwarden.leak.trend",
            "memwarden.leak.stats")
LAZY = ("logging", *ALERTS, *LEAK_FIT)

# {wait}: code that runs after the guardian thread has ticked, before modules are listed.
PROGRAM = """
import sys, time
import memwarden
guardian = memwarden.start(interval="{interval}")
first = guardian.status().sample.time_s
deadline = time.monotonic() + 30
while guardian.status().sample.time_s <= first and time.monotonic() < deadline:
    time.sleep(0.01)  # until the guardian thread has ticked at least once more
{wait}
modules = sorted(sys.modules)  # before json, which the report itself needs
import json
print(json.dumps({{"modules": modules, "running": guardian.running,
                  "ticked": guardian.status().sample.time_s > first,
                  "leak_watch": guardian.leak_watch is not None}}))
"""
# The leak watch loads at half its window (30 s by default) or with 512 samples kept: at a
# 10 ms interval after 5.1 s, long before a baseline census (and its modules) can be due.
WAIT_FOR_LEAK_WATCH = """
while guardian.leak_watch.watch is None and time.monotonic() < deadline:
    time.sleep(0.01)
"""


def loaded_after_start(tmp_path: Path, wait: str = "", interval: str = "20ms",
                       **env: str) -> dict[str, object]:
    program = PROGRAM.format(wait=wait, interval=interval)
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,  # no memwarden.toml or pyproject.toml: nothing to parse
        env=child_env(MEMWARDEN_LIMIT="1G", MEMWARDEN_RESTART="off", **env),
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def report_modules(report: dict[str, object]) -> set[str]:
    return set(report["modules"])  # type: ignore[call-overload]


def test_start_imports_only_what_sampling_needs(tmp_path: Path) -> None:
    report = loaded_after_start(tmp_path)
    assert report["running"] and report["ticked"] and report["leak_watch"]
    modules = report_modules(report)
    assert "memwarden.sample" in modules and "memwarden.guardian" in modules
    heavy = sorted(name for name in modules
                   if any(name == h or name.startswith(h + ".") for h in HEAVY + LAZY))
    assert heavy == []


def test_the_leak_fit_loads_when_its_first_evaluation_is_due(tmp_path: Path) -> None:
    report = loaded_after_start(tmp_path, WAIT_FOR_LEAK_WATCH, interval="10ms")
    modules = report_modules(report)
    assert set(LEAK_FIT) <= modules
    assert not {"typing", "dataclasses", "inspect", "logging"} & modules  # light once loaded too


def test_a_config_file_loads_its_parser(tmp_path: Path) -> None:
    (tmp_path / "memwarden.toml").write_text('interval = "20ms"\n')
    assert "tomllib" in report_modules(loaded_after_start(tmp_path))


def test_a_tier_change_logs_through_logging(tmp_path: Path) -> None:
    # warn at 1M: the first sample is above it, and the guardian logs the transition.
    assert "logging" in report_modules(loaded_after_start(tmp_path, MEMWARDEN_WARN="1M"))


def test_configured_alerts_load_their_sender(tmp_path: Path) -> None:
    # The other side of the same switch: with a webhook set up, the sender is there.
    report = loaded_after_start(tmp_path, MEMWARDEN_WEBHOOK_URL="http://127.0.0.1:9/hook")
    assert {*ALERTS, "memwarden.alerts.sender"} <= report_modules(report)
