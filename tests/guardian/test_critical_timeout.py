"""The in-process guardian: critical for longer than critical_timeout means a memory restart."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import child_env

CHILD = """
import logging, sys, threading
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
import memwarden
memwarden.on_shutdown(lambda: print("HOOK RAN", flush=True))
memwarden.start()
threading.Event().wait(30)
print("NOT RESTARTED", flush=True)
"""


def test_stuck_at_critical_exits_75_after_the_timeout() -> None:
    # Critical from the first sample (1M), restart tier far away (3G): only the timeout acts.
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60,
        env=child_env(MEMWARDEN_LIMIT="4G", MEMWARDEN_WARN="off", MEMWARDEN_CRITICAL="1M",
                      MEMWARDEN_RESTART="3G", MEMWARDEN_METRIC="tree_rss",
                      MEMWARDEN_INTERVAL="50ms", MEMWARDEN_CRITICAL_TIMEOUT="300ms"),
    )
    assert result.returncode == 75, result.stderr
    assert "HOOK RAN" in result.stdout and "NOT RESTARTED" not in result.stdout
    assert "memory tier critical -> restart (up): critical for " in result.stderr
    assert "(critical_timeout)" in result.stderr
