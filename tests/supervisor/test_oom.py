"""An OOM kill the supervisor could not prevent is named, with the figures before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cgroup_helpers import v1_memory_cgroup, v1_unavailable_reason
from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

# v1 only: on cgroup v2 the container's memory.events wake memwarden when the group reaches its
# wall, and the kernel's reclaim there usually leaves it time to restart the program before
# the OOM kill; the v2 naming is tested in tests/cgroup2/test_v2_container.py.
pytestmark = pytest.mark.cgroup

SPIKE = """
    import os, sys, threading
    marker = sys.argv[1]
    if os.path.exists(marker):
        print("second run: idle", flush=True)
        threading.Event().wait(600)
    open(marker, "w").close()
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")  # the kernel's victim: this child, never the supervisor
    held = []
    while True:  # as fast as Python allocates: past the group's limit between two samples
        held.append(b"x" * 2**20)
"""


def test_kernel_oom_kill_is_named(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    reason = v1_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with v1_memory_cgroup(150 * 2**20) as group:
        join = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group)]
        # A 1 s interval: the spike (~0.1 s) reaches the wall between two samples.
        sup = supervise("--interval", "1s", "--max-restarts", "1", prefix=join,
                        command=[*script("spike", SPIKE), str(tmp_path / "marker")])
        log = sup.wait_log("restart (oom_kill)")
        line = next(x for x in log.splitlines() if "OOM-killed (SIGKILL from the kernel)" in x)
        assert "figures before it: tree RSS" in line and "(cgroup)" in line
        sup.wait_log("second run: idle", stream="out")
        assert sup.cli("stop").returncode == 0
        assert sup.exit_code() == 0
        wait_for(lambda: not tagged_pids(sup.tag), what="tree gone")
