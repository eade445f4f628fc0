"""Owned memory cgroups under `memwarden run`: a spike to the wall ends in a graceful stop."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from memwarden.supervisor import cgroupctl
from tests.cgroup_helpers import memory_cgroup
from tests.supervisor.sup_helpers import Running, cgroup_control_reason, wait_for

needs_cgroup = pytest.mark.skipif(cgroup_control_reason() is not None,
                                  reason=cgroup_control_reason() or "")

# Starts 100 MB below its 300M limit, then allocates as fast as it can (~1.7 GB/s: the poll
# at 100 ms alone would let it reach the kernel's wall). The last generation stays idle.
SPIKE = """
    import os, sys, threading
    import memwarden
    hook_file, ready_file, generations = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def save():
        with open(hook_file, "a") as f:
            f.write(f"{os.getpid()}\\n")

    memwarden.on_shutdown(save)
    memwarden.start(restart="off", interval="10s")  # hooks on SIGTERM; the supervisor decides
    held = [bytearray(200 * 1024 * 1024)]
    done = len(open(ready_file).read().split()) if os.path.exists(ready_file) else 0
    with open(ready_file, "a") as f:
        f.write(f"{os.getpid()}\\n")
    if done >= generations:
        threading.Event().wait(600)
    while True:
        held.append(bytearray(1024 * 1024))
"""


@pytest.mark.cgroup  # owns real groups; the others run the same on any kernel
@needs_cgroup
def test_spike_to_the_wall_is_stopped_gracefully_three_times(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    hook_file, ready_file = tmp_path / "hook", tmp_path / "ready"
    spikes = 3
    command = [*script("spike", SPIKE), str(hook_file), str(ready_file), str(spikes)]
    sup = supervise("--limit", "300M", "--max-restarts", "10", "--grace", "30s",
                    command=command)
    log = sup.wait_log("restart (memory)", count=spikes)
    wait_for(lambda: ready_file.exists() and len(ready_file.read_text().split()) > spikes,
             what="the idle generation after the spikes")
    # PSI, where the kernel has it, joins the events (tests/supervisor/test_pressure.py).
    assert re.search(r"detection: cgroup-v(1-eventfd|2-events)(\+psi)?\+poll 100ms "
                     r"\(owned cgroup memwarden-spike\.", log), log
    pids = ready_file.read_text().split()
    # Every spiking generation ran its on_shutdown hook: stopped gracefully, not OOM-killed.
    assert hook_file.read_text().split() == pids[:spikes]
    log = sup.log
    assert "OOM-killed" not in log and "SIGKILL" not in log
    assert log.count("killed by SIGTERM") == spikes
    group = next(line for line in log.splitlines() if "owned cgroup" in line)
    name = group.split("owned cgroup ")[1].split(",")[0]
    parent = cgroupctl.find_parent()[1]
    assert (parent / name).is_dir()
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert not (parent / name).exists()  # removed at exit


IDLE = """
    import threading
    print("idle up", flush=True)
    threading.Event().wait(600)
"""


def test_no_cgroup_says_poll_and_why(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    sup = supervise("--limit", "300M", "--no-cgroup", "--interval", "50ms", "--psi", "off",
                    command=script("idle", IDLE))
    log = (sup.wait_log("idle up", stream="out"), sup.log)[1]
    assert "detection: poll 50ms (cgroup control unavailable: cgroup = false / --no-cgroup)" \
        in log
    assert log.count("detection:") == 1
    status = json.loads(sup.cli("status", "--json").stdout)
    assert status["programs"][0]["detection"] == "poll 50ms"
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0


def test_no_limit_means_no_owned_cgroup(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    sup = supervise("--psi", "off", command=script("idle", IDLE))
    log = (sup.wait_log("idle up", stream="out"), sup.log)[1]
    assert "detection: poll 100ms (cgroup control unavailable: no --limit" in log
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0


HOLDS_250M = """
    import threading
    held = b"x" * (250 * 1024 * 1024)
    print("holding", flush=True)
    threading.Event().wait(600)
"""


@pytest.mark.cgroup  # owns real groups; the others run the same on any kernel
@needs_cgroup
def test_container_check_reads_memwardens_own_group_not_the_owned_one(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    # memwarden runs in a 300 MiB "container"; its program's owned group is 1 GiB. The group
    # holds ~275 MiB (250 MiB + the interpreter + memwarden itself): over the container's
    # critical tier (85 % = 255 MiB), under its restart tier (95 % = 285 MiB), and far below
    # the program's own thresholds.
    with memory_cgroup(300 * 2**20) as container:
        join = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(container)]
        sup = supervise("--limit", "1G", "--psi", "off", prefix=join,
                        command=script("holder", HOLDS_250M))
        log = sup.wait_log("-> critical: ")
        line = next(x for x in log.splitlines() if "-> critical: " in x)
        assert "container working set tier" in line and "of 300.0 MiB" in line, line
        # The program did get its own group (on v2 after moving memwarden into a leaf).
        assert re.search(r"detection: cgroup-v(1-eventfd|2-events)\+poll", log), log
        assert "restart (" not in sup.log
        assert sup.cli("stop").returncode == 0
        assert sup.exit_code() == 0


# Idle until the trigger file exists, then one allocation far past the wall, faster than any
# sample. The second generation stays idle.
AT_ONCE = """
    import os, sys, threading, time
    trigger, marker = sys.argv[1], sys.argv[2]
    pause = threading.Event()
    if os.path.exists(marker):
        print("second run: idle", flush=True)
        pause.wait(600)
    open(marker, "w").close()
    print("waiting", os.getpid(), flush=True)
    while not os.path.exists(trigger):
        time.sleep(0.02)
    held = b"x" * (400 * 2**20)
    pause.wait(600)
"""


def _under_oom(group: Path) -> bool:
    return "under_oom 1" in (group / "memory.oom_control").read_text()


@needs_cgroup
def test_a_tree_that_reached_the_wall_unseen_is_named_as_it_is_there(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    # The supervisor is stopped while its program runs into the wall, so the kernel's event is
    # the first it hears of it: the restart line must name the tree at the wall, not the idle
    # tree of the sample before.
    version, parent = cgroupctl.find_parent()
    if version != 1:
        pytest.skip("cgroup v2 throttles at memory.high instead of pausing at the wall")
    trigger, marker = tmp_path / "go", tmp_path / "marker"
    sup = supervise("--limit", "200M", "--grace", "5s", "--psi", "off",
                    command=[*script("at_once", AT_ONCE), str(trigger), str(marker)])
    sup.wait_log("waiting", stream="out")
    log = sup.wait_log("detection: ")
    name = next(x for x in log.splitlines() if "owned cgroup" in x) \
        .split("owned cgroup ")[1].split(",")[0]
    os.kill(sup.proc.pid, signal.SIGSTOP)
    try:
        trigger.touch()
        wait_for(lambda: _under_oom(parent / name), what="the program paused at its wall")
    finally:
        os.kill(sup.proc.pid, signal.SIGCONT)
    log = sup.wait_log("restart (memory)")
    line = next(x for x in log.splitlines() if "restart (memory)" in x)
    found = re.search(r"tree RSS ([\d.]+) MiB in 1 process", line)
    assert found is not None, line
    assert float(found[1]) >= 190, line  # at the wall (206 MiB), not the idle tree's ~10 MiB
    sup.wait_log("second run: idle", stream="out")
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
