"""What lives as long as a guardian (the leak watch, alerts, a user's add-on) is closed when it
stops: the last attached first, and one that fails to close does not keep the others open."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from memwarden.config import GuardConfig
from memwarden.guardian import Guardian
from tests.helpers import child_env


class Addon:
    def __init__(self, name: str, closed: list[str], fail: bool = False) -> None:
        self.name, self.closed, self.fail = name, closed, fail

    def close(self) -> None:
        self.closed.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} cannot close")


def test_stop_closes_every_addon_last_first_even_past_a_failing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[str] = []
    guardian = Guardian(GuardConfig(interval_s=0.05)).start()
    first = guardian.attach(Addon("first", closed))
    assert first.name == "first"  # attach hands the add-on back
    guardian.attach(Addon("broken", closed, fail=True))
    guardian.attach(Addon("last", closed))
    with caplog.at_level(logging.ERROR, logger="memwarden"):
        guardian.stop()
    assert closed == ["last", "broken", "first"]
    assert not guardian.running
    assert "cannot close" in caplog.text
    guardian.stop()  # a second stop closes nothing again
    assert closed == ["last", "broken", "first"]


# In a fresh interpreter: start() installs the snapshot signal's handler and thread.
STOPPED = """
import json
import memwarden
from memwarden.guardian import current

guardian = memwarden.start(interval="50ms", limit="4G")
watch = guardian.leak_watch
attached = watch is not None and current() is guardian and len(guardian._sample_listeners) > 0
memwarden.stop()
guardian.tick()  # a sample after the stop reaches no leak watch
print(json.dumps({"attached": attached, "stopped": watch._stopped, "current": current(),
                  "listeners": len(guardian._sample_listeners)}))
"""


def test_memwarden_stop_closes_the_leak_watch() -> None:
    done = subprocess.run([sys.executable, "-c", STOPPED], env=child_env(), capture_output=True,
                          text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == {"attached": True, "stopped": True, "current": None,
                                       "listeners": 0}
