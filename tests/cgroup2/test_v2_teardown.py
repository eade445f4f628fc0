"""Teardown by cgroup on v2: kill -9 of the supervisor leaves nothing of its programs, setsid
and daemonized grandchildren included; the next start removes the dead supervisor's groups."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cgroup_helpers import group_pids, v2_unavailable_reason
from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

pytestmark = [pytest.mark.cgroup,
              pytest.mark.skipif(v2_unavailable_reason() is not None,
                                 reason=v2_unavailable_reason() or "")]

# A program that leaves its process group twice: a setsid child, and a daemon (double fork +
# setsid, re-parented away from the program). Only the cgroup still holds them all.
ESCAPES = """
    import os, subprocess, sys, threading
    idle = "import os, threading; os.setsid(); threading.Event().wait(600)"
    subprocess.Popen([sys.executable, "-c", idle])
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            threading.Event().wait(600)
        os._exit(0)
    print("escaped", flush=True)
    threading.Event().wait(600)
"""


def _owned_group(log: str) -> Path:
    line = next(x for x in log.splitlines() if "(owned cgroup " in x)
    name = line.split("(owned cgroup ")[1].split(",")[0]
    return Path("/sys/fs/cgroup") / name


def _sentinel_pid(supervisor_pid: int) -> int:
    """The supervisor's /bin/sh sentinel: its child running a shell."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if int(fields.split()[1]) == supervisor_pid and comm == "sh":
            return int(name)
    raise AssertionError(f"no sentinel below pid {supervisor_pid}")


def _start(supervise: Callable[..., Running], command: list[str]) -> tuple[Running, Path]:
    sup = supervise("--limit", "200M", "--psi", "off", command=command)
    sup.wait_log("escaped", stream="out")
    group = _owned_group(sup.log)
    assert group.parent == Path("/sys/fs/cgroup"), "the test expects to run in the root group"
    # The program, its setsid child and the daemon (its middle parent has exited).
    wait_for(lambda: len(group_pids(group)) >= 3, what="three processes in the owned group")
    return sup, group


def test_kill_9_of_the_supervisor_leaves_nothing(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    sup, group = _start(supervise, script("escapes", ESCAPES))
    escaped = set(group_pids(group))
    os.kill(sup.proc.pid, signal.SIGKILL)
    assert sup.exit_code() == -signal.SIGKILL
    # The sentinel's last act: cgroup.kill, then the group goes.
    wait_for(lambda: not group_pids(group), what=f"{group} emptied after kill -9")
    wait_for(lambda: not (escaped & tagged_pids(sup.tag)), what="no program process left")


def test_groups_of_a_dead_supervisor_are_removed_at_the_next_start(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    command = script("escapes", ESCAPES)
    dead, group = _start(supervise, command)
    # Supervisor and sentinel both SIGKILLed (an OOM kill of both, a crashed machine's
    # leftovers): the group and its escaped processes stay behind.
    os.kill(_sentinel_pid(dead.proc.pid), signal.SIGKILL)
    os.kill(dead.proc.pid, signal.SIGKILL)
    assert dead.exit_code() == -signal.SIGKILL
    # The program itself dies with the supervisor (its parent-death signal); what left its
    # process group stays: the setsid child and the daemon.
    wait_for(lambda: len(group_pids(group)) == 2, what="the escaped pair alone in the group")
    left = set(group_pids(group))
    second, _ = _start(supervise, command)
    assert f"removed stale cgroup {group}" in second.log, second.log
    assert not group.exists()
    wait_for(lambda: not (left & tagged_pids(dead.tag)), what="the stale group's processes gone")
    assert second.cli("stop").returncode == 0
    assert second.exit_code() == 0
    assert not _owned_group(second.log).exists()
