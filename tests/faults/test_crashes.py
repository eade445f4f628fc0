"""The supervisor never dies of its own bug: a 1,100-crash loop, hostile control-socket lines,
fd exhaustion, a handler that raises, a loop that cannot wait any more."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from memwarden.exitcodes import EXIT_SOFTWARE
from tests.faults.fault_helpers import COUNTER, assert_nothing_left, increment, saved_count
from tests.supervisor.sup_helpers import Running, child_env, wait_for


def test_1100_quick_crashes_with_1ms_backoff_end_errored_not_dead(
    supervise: Callable[..., Running], tmp_path: Path,
) -> None:
    config = tmp_path / "memwarden.toml"
    # 2.0 ** 1024 overflows a float: the backoff must stop doubling long before.
    config.write_text('[supervisor]\nbackoff = "1ms"\nbackoff_max = "1ms"\n'
                      'max_restarts = 1100\nrestart_window = "1h"\n'
                      '[[program]]\nname = "crasher"\ncommand = "false"\n')
    sup = supervise("--config", str(config), "--no-cgroup")
    assert sup.exit_code() == 1  # `false`'s own status, once it errored
    log = sup.log
    assert log.count("restart (crash)") == 1100
    assert "errored: 1100 restarts" in log and "internal error" not in log
    assert_nothing_left(sup)


def _ask(path: Path, line: bytes) -> dict[str, object] | None:
    """Send raw bytes, return the reply (None when the supervisor closed without one)."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(30)
        conn.connect(str(path))
        try:
            conn.sendall(line)
            conn.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a huge line: it answered and closed before reading it all
        data = conn.makefile("rb").readline()
    return json.loads(data) if data else None


HOSTILE = {
    "2 KB of [": b"[" * 2048 + b"\n",
    "deep objects": b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"\n",
    "binary garbage": bytes(range(256)) * 4 + b"\n",
    "huge line": b"x" * (1024 * 1024),
    "a list": b'["status"]\n',
    "cmd a list": b'{"cmd": ["status"]}\n',
    "program an object": b'{"cmd": "restart", "program": {"a": 1}}\n',
    "unknown cmd": b'{"cmd": "format-disk"}\n',
    "not utf-8": b'{"cmd": "\xff\xfe"}\n',
}


def test_hostile_control_lines_get_error_replies_and_status_still_works(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    state, path = tmp_path / "count", tmp_path / "counter.sock"
    sup = supervise("--no-cgroup", command=[*script("counter", COUNTER), str(state), str(path)])
    sup.wait_log("counter up", stream="out")
    acked = [increment(path) for _ in range(3)]
    for name, line in HOSTILE.items():
        reply = _ask(sup.control, line)
        assert reply is not None and reply["ok"] is False, name
        assert "error" in reply, name
    status = json.loads(sup.cli("status", "--json").stdout)
    assert status["programs"][0]["state"] == "running"
    acked.append(increment(path))
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert saved_count(state) == acked[-1] == 4
    assert "internal error" not in sup.log
    assert_nothing_left(sup)


@pytest.mark.skipif(not Path("/usr/bin/prlimit").exists(), reason="needs prlimit(1)")
def test_running_out_of_file_descriptors_on_the_control_socket(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    state, path = tmp_path / "count", tmp_path / "counter.sock"
    sup = supervise("--no-cgroup", command=[*script("counter", COUNTER), str(state), str(path)],
                    prefix=["prlimit", "--nofile=48:48", "--"])
    sup.wait_log("counter up", stream="out")
    conns = []
    try:
        for _ in range(200):  # far more than its 48 descriptors: accept() hits EMFILE
            conn = socket.socket(socket.AF_UNIX)
            conn.connect(str(sup.control))
            conns.append(conn)
        assert json.loads(sup.cli("status", "--json").stdout)["ok"] is True
    finally:
        for conn in conns:
            conn.close()
    assert increment(path) == 1
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert saved_count(state) == 1
    assert_nothing_left(sup)


# Runs the real Supervisor with one fault injected, so the guard's two outcomes can be seen:
# a handler that raises (logged once, the loop goes on) and a loop whose wait keeps failing
# (every program stopped gracefully, exit 70).
INJECT = """
    import os, sys
    from memwarden.supervisor.config import load_supervisor_config
    from memwarden.supervisor.loop import Supervisor

    fault, command = sys.argv[1], sys.argv[2:]
    sup = Supervisor(load_supervisor_config({"cgroup": False}, tuple(command)))
    if fault == "handler":
        sample = sup.memory.sample
        def broken_sample(run):
            if run.last_sample is not None:
                raise ZeroDivisionError("injected")
            sample(run)
        sup.memory.sample = broken_sample
    else:
        select = sup.selector.select
        def broken_select(timeout=None):
            if os.path.exists(command[-1]):  # once the counter listens (its hook is set)
                raise OSError(9, "injected: bad file descriptor")
            return select(timeout)
        sup.selector.select = broken_select
    sys.exit(sup.run())
"""


def _inject(tmp_path: Path, fault: str, command: list[str]) -> subprocess.Popen[bytes]:
    runner = tmp_path / "inject.py"
    runner.write_text(textwrap.dedent(INJECT))
    err = (tmp_path / "inject.err").open("wb")
    out = (tmp_path / "inject.out").open("wb")
    with err, out:
        return subprocess.Popen([sys.executable, str(runner), fault, *command],
                                env=child_env(), stdout=out, stderr=err, process_group=0)


def test_a_handler_that_raises_is_logged_once_and_the_loop_goes_on(
    script: Callable[[str, str], list[str]], tmp_path: Path,
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    state, path = tmp_path / "count", tmp_path / "counter.sock"
    proc = _inject(tmp_path, "handler", [*script("counter", COUNTER), str(state), str(path)])
    reaper.append(proc)
    err = tmp_path / "inject.err"
    wait_for(lambda: "internal error in counter's timers" in err.read_text()
             and "again (4 times)" in err.read_text(), what="the fault, repeated")
    wait_for(lambda: "counter up" in (tmp_path / "inject.out").read_text(),
             what="the counter listening")
    assert increment(path) == 1  # the program and the loop carry on
    log = err.read_text()
    assert log.count("Traceback") == 1 and "ZeroDivisionError: injected" in log
    proc.send_signal(15)
    assert proc.wait(60) == 0
    assert saved_count(state) == 1


def test_a_loop_that_cannot_wait_stops_every_program_gracefully_and_exits_70(
    script: Callable[[str, str], list[str]], tmp_path: Path,
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    state, path = tmp_path / "count", tmp_path / "counter.sock"
    proc = _inject(tmp_path, "loop", [*script("counter", COUNTER), str(state), str(path)])
    reaper.append(proc)
    assert proc.wait(60) == EXIT_SOFTWARE
    log = (tmp_path / "inject.err").read_text()
    assert "cannot go on" in log and f"exiting with status {EXIT_SOFTWARE}" in log
    assert state.read_text() == "0"  # its SIGTERM hook ran to the end
