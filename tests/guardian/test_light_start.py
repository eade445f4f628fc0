"""`import memwarden; memwarden.start()` loads what sampling needs and nothing heavy: actions,
alerts' HTTP side, the trace writer, the web integration and their libraries load on first use.
Checked by sys.modules in a fresh interpreter, after the guardian thread has ticked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import child_env

# Each is either large (ctypes, hashlib with OpenSSL, tomllib, asyncio, http clients) or
# only needed once something happens (a cleanup, a restart, an alert, a request, a trace).
# (The snapshot signal's worker thread loads memwarden.leak.snapshot, and json, as it starts.)
HEAVY = (
    "asyncio", "ctypes", "email", "hashlib", "http.client", "httpx", "psutil",
    "prometheus_client", "socket", "ssl", "subprocess", "tempfile", "tomllib", "tracemalloc",
    "urllib.request", "memwarden.actions", "memwarden.alerts.sender", "memwarden.alerts.http",
    "memwarden.leak.census", "memwarden.leak.attribute", "memwarden.trace", "memwarden.web",
    "memwarden.cli", "memwarden.supervisor",
)

PROGRAM = """
import sys, time
import memwarden
guardian = memwarden.start(interval="20ms")
first = guardian.status().sample.time_s
deadline = time.monotonic() + 30
while guardian.status().sample.time_s <= first and time.monotonic() < deadline:
    time.sleep(0.01)  # until the guardian thread has ticked at least once more
modules = sorted(sys.modules)  # before json, which the report itself needs
import json
print(json.dumps({"modules": modules, "running": guardian.running,
                  "ticked": guardian.status().sample.time_s > first,
                  "leak_watch": guardian.leak_watch is not None}))
"""


def loaded_after_start(tmp_path: Path, **env: str) -> dict[str, object]:
    program = PROGRAM
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,  # no memwarden.toml or pyproject.toml: nothing to parse
        env=child_env(MEMWARDEN_LIMIT="1G", MEMWARDEN_RESTART="off", **env),
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_start_imports_only_what_sampling_needs(tmp_path: Path) -> None:
    report = loaded_after_start(tmp_path)
    assert report["running"] and report["ticked"] and report["leak_watch"]
    modules = set(report["modules"])  # type: ignore[call-overload]
    assert "memwarden.sample" in modules and "memwarden.guardian" in modules
    heavy = sorted(name for name in modules
                   if any(name == h or name.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_configured_alerts_load_their_sender(tmp_path: Path) -> None:
    # The other side of the same switch: with a webhook set up, the sender is there.
    report = loaded_after_start(tmp_path, MEMWARDEN_WEBHOOK_URL="http://127.0.0.1:9/hook")
    assert "memwarden.alerts.sender" in report["modules"]  # type: ignore[operator]
