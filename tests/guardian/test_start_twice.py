"""`memwarden.start()` is idempotent: a second call returns the running guardian, its
settings unchanged, and no second sampling thread starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import child_env

CHILD = """
import threading
import memwarden
first = memwarden.start(limit="1G", interval="50ms")
threads = threading.active_count()
second = memwarden.start(limit="2G", interval="1s")
print(second is first, first.config.limit_bytes == 1024**3, threading.active_count() == threads)
first.stop()
"""


def test_a_second_start_returns_the_running_guardian(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, env=child_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True", "True"]
