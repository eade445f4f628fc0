"""`memwarden.on_shutdown(fn)` without `memwarden.start()`: under `memwarden run`, fn runs on
every memory restart, a spike at full allocation speed into an owned cgroup included.

The child counts: each increment is written to its progress file (the ground truth, which
survives any kill) and the count is only persisted by the shutdown hook. A generation starts
from what the previous one saved; an increment made but not saved is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.supervisor.sup_helpers import Running, cgroup_control_reason, child_env

needs_cgroup = pytest.mark.skipif(cgroup_control_reason() is not None,
                                  reason=cgroup_control_reason() or "")

# Odd generations grow at ~200 MiB/s (the 100 ms poll sees every tier); even ones allocate as
# fast as Python can, straight into the owned group's wall. The last generation idles.
COUNTER = """
    import os, sys, threading
    import memwarden
    work, generations = sys.argv[1], int(sys.argv[2])
    state, saves = os.path.join(work, "state"), os.path.join(work, "saves")
    count = int(open(state).read()) if os.path.exists(state) else 0
    generation = len(open(saves).read().splitlines()) + 1 if os.path.exists(saves) else 1

    def save():
        with open(state + ".tmp", "w") as f:
            f.write(str(count))
        os.replace(state + ".tmp", state)
        with open(saves, "a") as f:
            f.write(f"{os.getpid()} {count}\\n")

    memwarden.on_shutdown(save)  # and nothing else: no memwarden.start()
    progress = os.open(os.path.join(work, f"progress-{os.getpid()}"),
                       os.O_WRONLY | os.O_CREAT, 0o600)
    print(f"generation {generation} pid {os.getpid()} from {count}", flush=True)
    held = [bytearray(150 * 2**20)]
    pause = threading.Event()
    while generation <= generations:
        count += 1
        os.pwrite(progress, b"%012d" % count, 0)
        held.append(bytearray(2**20))
        if generation % 2:
            pause.wait(0.005)
    pause.wait(600)
"""
GENERATIONS = 4


@needs_cgroup
def test_on_shutdown_alone_saves_every_increment_over_memory_restarts_and_spikes(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    command = [*script("counter", COUNTER), str(tmp_path), str(GENERATIONS)]
    sup = supervise("--limit", "300M", "--max-restarts", "10", "--grace", "30s",
                    command=command)
    sup.wait_log("restart (memory)", count=GENERATIONS, timeout_s=120)
    sup.wait_log(f"generation {GENERATIONS + 1} pid", stream="out", timeout_s=120)
    assert "owned cgroup" in sup.log  # the spikes met an owned group's wall, not the kernel's
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0

    saves = [line.split() for line in (tmp_path / "saves").read_text().splitlines()]
    # Every generation saved: the GENERATIONS restarted ones and the last, stopped one.
    assert len(saves) == GENERATIONS + 1
    made = 0
    lost = 0
    for pid, saved in saves[:GENERATIONS]:
        reached = int((tmp_path / f"progress-{pid}").read_bytes())
        made = reached
        lost += max(0, reached - int(saved))
    assert made > 0 and lost == 0
    started = [int(line.rsplit(" from ", 1)[1]) for line in sup.out.splitlines()
               if " from " in line]
    assert started == [0] + [int(saved) for _, saved in saves[:GENERATIONS]]
    assert "OOM-killed" not in sup.log


WARNS = """
    import signal, threading
    import memwarden
    signal.signal(signal.SIGTERM, lambda *_: None)
    memwarden.on_shutdown(print)
    memwarden.on_shutdown(print)
    thread = threading.Thread(target=memwarden.on_shutdown, args=(print,))
    thread.start()
    thread.join()
"""


def test_on_shutdown_says_once_what_to_do_when_it_cannot_install(tmp_path: Path) -> None:
    path = tmp_path / "warns.py"
    path.write_text(textwrap.dedent(WARNS))
    supervised = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                                env=child_env(MEMWARDEN_SUPERVISED="1"), timeout=60)
    assert supervised.returncode == 0
    assert supervised.stderr.count("on_shutdown hooks will not run") == 1, supervised.stderr
    assert "memwarden.run_shutdown_hooks()" in supervised.stderr
    alone = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                           env=child_env(), timeout=60)
    assert alone.returncode == 0 and alone.stderr == ""


def test_child_api_is_one_module_reexported() -> None:
    import memwarden
    from memwarden import child
    from memwarden.supervisor import process, sockets, watchdog

    assert memwarden.listen_fds is child.listen_fds is sockets.listen_fds
    assert watchdog.sd_notify is child.notify
    assert memwarden.SUPERVISED_ENV == process.SUPERVISED_ENV == "MEMWARDEN_SUPERVISED"
    assert memwarden.is_supervised({"MEMWARDEN_SUPERVISED": "1"})
    assert not memwarden.is_supervised({})
    assert memwarden.notify_ready() is (bool(os.environ.get("NOTIFY_SOCKET")))
