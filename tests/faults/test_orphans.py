"""No orphan, ever: setsid grandchildren, double-forking daemons, forks during shutdown,
`kill -9` of the supervisor (with and without an owned cgroup), PID 1 in a PID namespace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from memwarden.supervisor.sentinel import start_sentinel
from tests.faults.fault_helpers import assert_nothing_left, owned_cgroups, pgid_of
from tests.supervisor.sup_helpers import Running, cgroup_control_reason, tagged_pids, wait_for

# A program whose tree leaves its process group twice: a setsid grandchild, and a daemon
# that double-forks (its parent exits, so it is re-parented to the supervisor).
ESCAPER = """
    import os, subprocess, sys, threading
    code = "import os, threading; os.setsid(); threading.Event().wait(600)"
    grandchild = subprocess.Popen([sys.executable, "-c", code])
    read_fd, write_fd = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(write_fd, str(os.getpid()).encode())
            threading.Event().wait(600)
        os._exit(0)
    daemon = int(os.read(read_fd, 32))
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {grandchild.pid} {daemon}")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    threading.Event().wait(600)
"""


def _answer_dir(pid: int) -> Path:
    """The supervisor's scratch directory for program pid's leak answers (from its env)."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (answer,) = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"MEMWARDEN_LEAK_ANSWER=")]
    directory = Path(os.fsdecode(answer)).parent
    assert directory.is_dir()
    return directory


def _escaped(sup: Running, ready: Path, *, same_pid_namespace: bool = True) -> list[int]:
    wait_for(ready.exists, what="the escaper's pids")
    main, grandchild, daemon = map(int, ready.read_text().split())
    if same_pid_namespace:
        wait_for(lambda: pgid_of(grandchild) == grandchild, what="the grandchild's setsid")
    # Readiness: the supervisor logs each process it found outside the group (and told the
    # sentinel about) once.
    sup.wait_log(f"pid {grandchild} runs outside process group {main}")
    sup.wait_log(f"pid {daemon} runs outside process group {main}")
    return [main, grandchild, daemon]


@pytest.mark.parametrize("cgroup", [False, True], ids=["no-cgroup", "owned-cgroup"])
def test_kill9_of_the_supervisor_kills_setsid_grandchildren_and_daemons(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path, cgroup: bool,
) -> None:
    if cgroup and (reason := cgroup_control_reason()):
        pytest.skip(reason)
    ready = tmp_path / "ready"
    args = ["--limit", "256M"] if cgroup else ["--no-cgroup"]
    sup = supervise(*args, command=[*script("escaper", ESCAPER), str(ready)])
    pids = _escaped(sup, ready)
    if cgroup:
        groups = owned_cgroups(sup.proc.pid)
        assert groups  # memory, and the v1 freezer where there is one
        for group in groups:
            assert set(pids) <= {int(p) for p in (group / "cgroup.procs").read_text().split()}
    answers = _answer_dir(pids[0])
    sup.proc.send_signal(signal.SIGKILL)
    assert sup.exit_code() == -signal.SIGKILL
    assert_nothing_left(sup)
    wait_for(lambda: not answers.exists(), what=f"the sentinel to remove {answers}")


FORKS_ON_SIGTERM = """
    import os, signal, sys, threading
    def on_term(*_):
        # A child forked into a new session while shutting down, ignoring SIGTERM.
        if os.fork() == 0:
            os.setsid()
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            threading.Event().wait(600)
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    print("generation up", os.getpid(), flush=True)
    threading.Event().wait(600)
"""


@pytest.mark.parametrize("cgroup", [False, True], ids=["no-cgroup", "owned-cgroup"])
def test_children_forked_during_shutdown_do_not_survive_restarts(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], cgroup: bool,
) -> None:
    if cgroup and (reason := cgroup_control_reason()):
        pytest.skip(reason)
    args = ["--limit", "256M"] if cgroup else ["--no-cgroup"]
    sup = supervise(*args, "--grace", "1s", command=script("forker", FORKS_ON_SIGTERM))
    for generation in range(1, 4):
        sup.wait_log("generation up", count=generation, stream="out")
        assert sup.cli("restart", "forker").returncode == 0
    sup.wait_log("generation up", count=4, stream="out")
    # Three restarts, each leaving a SIGTERM-ignoring setsid child: all killed by now.
    assert sup.log.count("SIGKILL to") == 3
    live = tagged_pids(sup.tag)
    supervisor_side = {sup.proc.pid, *_children(sup.proc.pid)}
    assert len(live - supervisor_side) == 0, sorted(live - supervisor_side)
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert_nothing_left(sup)


def _children(pid: int) -> set[int]:
    from memwarden.readers.tree import list_children

    return set(list_children(pid))


def test_the_sentinel_kills_whatever_is_listed_when_its_pipe_closes(
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    """An exit through an internal error only closes the pipe: nothing is spared."""
    leader = subprocess.Popen(["sleep", "600"], process_group=0)
    loner = subprocess.Popen(["sleep", "600"], start_new_session=True)
    reaper.extend([leader, loner])
    sentinel = start_sentinel()
    assert sentinel is not None
    assert sentinel.add(leader.pid) and sentinel.add_pid(loner.pid)
    sentinel.close()
    assert leader.wait(20) == -signal.SIGKILL
    assert loner.wait(20) == -signal.SIGKILL


def test_a_clean_stop_leaves_nothing_for_the_sentinel_to_kill(
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    kept = subprocess.Popen(["sleep", "600"], process_group=0)
    reaper.append(kept)
    sentinel = start_sentinel()
    assert sentinel is not None
    sentinel.add(kept.pid)
    sentinel.remove(kept.pid)  # the program's group is empty: withdrawn
    sentinel.close()
    assert kept.poll() is None


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare(1) for a new PID namespace")
def test_pid1_in_a_new_pid_namespace_reaps_and_stops_everything(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready"
    sup = supervise("--no-cgroup", command=[*script("escaper", ESCAPER), str(ready)],
                    prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    sup.wait_log("as PID 1")
    _escaped(sup, ready, same_pid_namespace=False)
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert "now stopped" in sup.log
    assert_nothing_left(sup, supervisor_pid=-1)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare(1) for a new PID namespace")
def test_kill9_of_pid1_takes_the_whole_namespace(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready"
    sup = supervise("--no-cgroup", command=[*script("escaper", ESCAPER), str(ready)],
                    prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    _escaped(sup, ready, same_pid_namespace=False)
    (pid1,) = _children(sup.proc.pid)  # unshare's child: the supervisor, PID 1 inside
    os.kill(pid1, signal.SIGKILL)
    assert sup.exit_code() != 0
    assert_nothing_left(sup, supervisor_pid=pid1)


def test_a_killed_sentinel_is_replaced_and_told_everything(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready"
    sup = supervise("--no-cgroup", command=[*script("escaper", ESCAPER), str(ready)])
    escaped = _escaped(sup, ready)
    answers = _answer_dir(escaped[0])
    program = set(escaped)  # the daemon is a child of the supervisor too
    (sentinel,) = _children(sup.proc.pid) - program
    os.kill(sentinel, signal.SIGKILL)
    sup.wait_log(f"sentinel pid {sentinel} killed by SIGKILL: starting another one")
    sup.wait_log("knows what its predecessor knew")
    sup.proc.send_signal(signal.SIGKILL)
    assert sup.exit_code() == -signal.SIGKILL
    assert_nothing_left(sup)
    wait_for(lambda: not answers.exists(), what=f"the new sentinel to remove {answers}")


# A process that "walks": it forks and exits every 10 ms, so its pid keeps changing and a
# kill round that reads pids and then signals them can miss it; it ignores SIGTERM.
WALKER = """
    import os, signal, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("walker up", flush=True)
    pause = threading.Event()
    while True:
        pause.wait(0.01)
        if os.fork():
            os._exit(0)
"""


@pytest.mark.parametrize("cgroup", [False, True], ids=["no-cgroup", "owned-cgroup"])
def test_a_process_that_walks_by_forking_is_caught_at_the_stop(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], cgroup: bool,
) -> None:
    if cgroup and (reason := cgroup_control_reason()):
        pytest.skip(reason)
    args = ["--limit", "256M"] if cgroup else ["--no-cgroup"]
    # Its main process exits at the first step: the program ended, its walker must not live on.
    sup = supervise(*args, "--autorestart", "never", "--grace", "300ms",
                    command=script("walker", WALKER))
    assert sup.exit_code() == 0
    log = sup.log
    assert "[walker] now exited" in log and "grace of 300ms over: SIGKILL" in log
    assert_nothing_left(sup)
