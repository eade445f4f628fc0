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
