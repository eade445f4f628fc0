"""A cleanup at critical must not fork: a copy of a process at critical doubles its tree RSS
for the supervisor's next sample (ctypes.util.find_library runs `ldconfig -p`)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import child_env

PROGRAM = """
import sys
spawned = []
sys.addaudithook(lambda event, args: spawned.append(event) if event in (
    "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.system", "subprocess.Popen")
    else None)
from memwarden.actions import malloc_trim
print(malloc_trim(), spawned)
"""


def test_malloc_trim_spawns_nothing() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                            env=child_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    trimmed, spawned = result.stdout.split(maxsplit=1)
    assert trimmed in ("0", "1") and spawned.strip() == "[]"
