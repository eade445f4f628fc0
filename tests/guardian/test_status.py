"""memwarden.status() looks but never acts, with or without a running guardian."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import child_env


def test_status_without_a_guardian_never_cleans_up_or_exits() -> None:
    code = (
        "import memwarden\n"
        "memwarden.on_shutdown(lambda: print('HOOK RAN'))\n"
        "status = memwarden.status()\n"
        "print(status.tier.label, status.running, status.sample.measured_bytes > 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env=child_env(MEMWARDEN_LIMIT="1G", MEMWARDEN_CRITICAL="1M", MEMWARDEN_RESTART="2M",
                      MEMWARDEN_WARN="off", MEMWARDEN_METRIC="tree_rss"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["restart", "False", "True"]
    assert "HOOK RAN" not in result.stdout


def test_memory_critical_follows_the_running_guardian() -> None:
    # What the web middleware reads per request: set from the guardian's first sample on
    # (taken before start() returns), cleared when it stops.
    code = (
        "import memwarden\n"
        "from memwarden import guardian\n"
        "before = guardian.memory_critical\n"
        "g = memwarden.start(limit='1G', warn='off', critical='1M', restart='off',\n"
        "                    metric='tree_rss', interval='1m')\n"
        "print(before, guardian.memory_critical, g.tier.label)\n"
        "guardian.stop()\n"
        "print(guardian.memory_critical)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=child_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "critical", "False"]
