"""End to end: a real child process whose guardian reaches the restart tier alerts before it
exits with EXIT_MEMORY_RESTART."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memwarden.exitcodes import EXIT_MEMORY_RESTART

# Fixtures come from the helper module: a conftest.py here would shadow tests/conftest.py.
from tests.alerts.alerts_receiver import Receiver
from tests.helpers import child_env

CHILD = """
import sys, threading
import memwarden.alerts
from memwarden.config import load_guard_config
from memwarden.guardian import Guardian

config = load_guard_config({"restart": "1M", "warn": "off", "critical": "off",
                            "interval": "50ms"}, environ={})
guardian = Guardian(config)
memwarden.alerts.attach(guardian.events, {"url": sys.argv[1], "format": "json"}, environ={})
guardian.start()  # the first tick is already over 1 MiB: restart tier, exit 75
threading.Event().wait(60)
"""


def test_guardian_restart_alerts_then_exits(
    receiver: Receiver, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, receiver.url + "/hook"],
                             cwd=tmp_path, env=child_env(), start_new_session=True)
    reaper.append(child)
    assert child.wait(timeout=60) == EXIT_MEMORY_RESTART
    names = [r.body["alertname"] for r in receiver.requests]
    assert names == ["MemwardenMemoryTier", "MemwardenRestart"]
    tier_alert = receiver.requests[0].body
    assert tier_alert["labels"]["tier"] == "restart" and tier_alert["status"] == "firing"
    assert tier_alert["event"]["figures"]["previous"] == "ok"
