"""A container's view on cgroup v2: a cgroup namespace rooted at a 256 MiB group, cgroupfs
read-only. memwarden finds the limit, the working set (as kubelet computes it) and
memory.events, watches them, and names an OOM kill in the container."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cgroup2.v2_helpers import MIB, container_prefix, run_in_container, v2_container_reason
from tests.cgroup_helpers import allocator_command, v2_memory_cgroup
from tests.helpers import child_env, memwarden_cmd
from tests.supervisor.sup_helpers import DEADLINE_S, Running

pytestmark = [pytest.mark.cgroup,
              pytest.mark.skipif(v2_container_reason() is not None,
                                 reason=v2_container_reason() or "")]

LIMIT_BYTES = 256 * MIB


def _stat(group: Path) -> dict[str, int]:
    pairs = (line.split() for line in (group / "memory.stat").read_text().splitlines())
    return {k: int(v) for k, v in pairs}


def test_check_in_the_container_reads_limit_working_set_and_events(
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    with v2_memory_cgroup(LIMIT_BYTES) as group:
        # An allocator holding 100 MiB in the same container; check looks at its own group.
        holder = subprocess.Popen([*container_prefix(group), *allocator_command(100 * MIB)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  start_new_session=True)
        reaper.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().startswith(b"ready")
        done = run_in_container(group, [*memwarden_cmd("check", "--json")], env=child_env())
        usage = int((group / "memory.current").read_text())
        working_set = usage - _stat(group)["inactive_file"]
        assert holder.stdin is not None
        holder.stdin.close()
        holder.stdout.close()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    cgroup = report["cgroup"]
    # Inside the namespace the group is the mount's root: /sys/fs/cgroup, read-only.
    assert cgroup["path"] == "/sys/fs/cgroup" and cgroup["version"] == 2
    assert report["limit_bytes"] == LIMIT_BYTES and report["limit_source"] == "cgroup"
    assert report["metric"] == "working_set"
    # kubelet's formula, on the figures of one read.
    assert cgroup["working_set_bytes"] == max(
        0, cgroup["usage_bytes"] - cgroup["inactive_file_bytes"])
    # check read it while its own interpreter was in the group too (gone when the test read
    # it): the holder's working set, plus at most that interpreter.
    assert working_set - 4 * MIB <= cgroup["working_set_bytes"] <= working_set + 64 * MIB
    assert cgroup["working_set_bytes"] >= 100 * MIB
    # memory.events: max (as failcnt), oom, oom_kill; nothing reached the wall.
    assert (cgroup["oom_events"], cgroup["oom_kill_events"], cgroup["failcnt"]) == (0, 0, 0)


IDLE = """
    import threading
    print("idle up", flush=True)
    threading.Event().wait(600)
"""

# Another process of the container (a sidecar, a `kubectl exec`): it allocates past the
# container's 256 MiB and is the kernel's victim (oom_score_adj 1000).
HOG = ("open('/proc/self/oom_score_adj', 'w').write('1000')\n"
       "held = []\n"
       "while True:\n"
       "    held.append(b'x' * 2**20)\n")


def test_run_in_the_container_watches_its_events_and_names_an_oom_kill(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    with v2_memory_cgroup(LIMIT_BYTES) as group:
        # No PSI: memory.events and the poll wake the loop.
        sup = supervise("--interval", "1s", "--psi", "off", prefix=container_prefix(group),
                        command=script("idle", IDLE))
        sup.wait_log("idle up", stream="out")
        hog = run_in_container(group, [sys.executable, "-c", HOG], env=child_env(),
                               timeout_s=DEADLINE_S)
        assert hog.returncode == -9, hog.stderr
        log = sup.wait_log("the kernel OOM-killed 1 process(es) in the container")
        # No --limit (the container's is read): no owned group; the container's files instead.
        assert "cgroup control unavailable: no --limit" in log, log
        assert "container /sys/fs/cgroup: watching container-events (" in log
        assert "detection: container-events+poll 1" in log
        line = next(x for x in log.splitlines() if "OOM-killed 1 process(es)" in x)
        assert "memory.events oom_kill 0 -> 1" in line and "memory.max 256.0 MiB" in line
        assert sup.cli("stop").returncode == 0
        assert sup.exit_code() == 0


def test_read_only_cgroupfs_is_read_only_in_the_view() -> None:
    with v2_memory_cgroup(LIMIT_BYTES) as group:
        probe = ("import os; from pathlib import Path; p = Path('/sys/fs/cgroup'); "
                 "print(p.joinpath('memory.max').read_text().strip(), os.access(p, os.W_OK))")
        done = run_in_container(group, [sys.executable, "-c", probe], env=child_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(LIMIT_BYTES), "False"]
