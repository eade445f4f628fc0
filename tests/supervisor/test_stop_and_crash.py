"""Graceful stop with a grace period, crash loops, max-restarts, exit 75."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from pathlib import Path

from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

STUBBORN = """
    import os, signal, subprocess, sys, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # A grandchild that also ignores SIGTERM and leaves the process group (setsid).
    code = ("import os, signal, threading; os.setsid(); "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); threading.Event().wait(600)")
    grandchild = subprocess.Popen([sys.executable, "-c", code])
    with open(sys.argv[1], "w") as f:
        f.write(f"{os.getpid()} {grandchild.pid}")
    threading.Event().wait(600)
"""


def test_sigterm_ignoring_child_killed_after_grace_with_its_tree(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    sup = supervise("--grace", "1s", command=[*script("stubborn", STUBBORN), str(ready)])
    # Both pids written, not just the file created (it is opened, then written).
    wait_for(lambda: ready.exists() and len(ready.read_text().split()) == 2, what="child ready")
    child, grandchild = map(int, ready.read_text().split())
    # The grandchild's setsid has happened once it is its own group leader.
    wait_for(lambda: _pgid(grandchild) == grandchild, what="grandchild setsid")
    wait_for(lambda: json.loads(sup.cli("status", "--json").stdout)["programs"][0]
             ["tree_rss_bytes"], what="a first sample")
    assert sup.cli("stop", "stubborn").returncode == 0
    log = sup.wait_log("over: SIGKILL")
    assert "and 1 process(es) outside it" in log  # the setsid grandchild got SIGTERM too
    assert sup.exit_code() == 0
    live = tagged_pids(sup.tag)
    assert child not in live and grandchild not in live
    assert "now stopped" in sup.log


def _pgid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return int(raw[raw.rfind(b")") + 2 :].split()[2])


def test_crash_loop_backs_off_and_stops_at_max_restarts(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    crash = script("crash", "import sys; print('crashing', flush=True); sys.exit(3)")
    sup = supervise("--max-restarts", "3", command=crash)
    assert sup.exit_code() == 3  # ended for good: the program's own last status
    log = sup.log
    assert log.count("restart (crash)") == 3
    delays = re.findall(r"restarting in (\S+) \(backoff\)", log)
    assert delays == ["100ms", "200ms", "400ms"]
    assert "errored: 3 restarts within 1h00m (max_restarts 3)" in log
    assert "exiting with status 3: crash is errored (exited with status 3)" in log
    assert not tagged_pids(sup.tag)


def test_memory_restarts_count_toward_max_restarts(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    # Exit status 75 is the in-process guardian's "restart me for memory".
    leaker = script("leaker", "import sys; sys.exit(75)")
    sup = supervise("--max-restarts", "2", command=leaker)
    assert sup.exit_code() == 75
    log = sup.log
    assert log.count("restart (memory)") == 2
    assert "its guardian reached the restart tier" in log
    assert "(backoff)" not in log  # a memory restart is not delayed
    assert "errored: 2 restarts" in log and "not restarting after memory" in log


def test_clean_exit_with_autorestart_on_failure_ends_the_supervisor(
    supervise: Callable[..., Running], tmp_path: Path
) -> None:
    config = tmp_path / "memwarden.toml"
    config.write_text('[[program]]\nname = "once"\ncommand = "true"\n'
                      'autorestart = "on-failure"\n')
    sup = supervise("--config", str(config))
    assert sup.exit_code() == 0
    assert "[once] now exited" in sup.log


def test_max_age_restarts_count_too(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    idle = script("idle", "import threading; threading.Event().wait(600)")
    sup = supervise("--max-age", "500ms", "--max-restarts", "1", "--grace", "5s", command=idle)
    assert sup.exit_code() == 1
    log = sup.log
    assert log.count("restart (age)") == 1 and "(max_age)" in log
    assert "errored: 1 restarts" in log and "not restarting after age" in log
    assert not tagged_pids(sup.tag)


def test_command_that_cannot_start_exits_127_at_once(supervise: Callable[..., Running],
                                                     tmp_path: Path) -> None:
    sup = supervise("--max-restarts", "1", command=[str(tmp_path / "no-such-program")])
    assert sup.exit_code() == 127
    log = sup.log
    assert log.count(f"] cannot start {tmp_path / 'no-such-program'}: ") == 1
    assert "not retried" in log
    assert "restart (" not in log


IGNORES_SIGTERM = """
    import signal, sys, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("stubborn up", flush=True)
    threading.Event().wait(600)
"""


def test_more_sigterms_are_the_same_stop_a_sigint_during_it_kills_now(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    sup = supervise("--grace", "60s", command=script("stubborn", IGNORES_SIGTERM))
    sup.wait_log("stubborn up", stream="out")
    sup.proc.send_signal(signal.SIGTERM)
    sup.wait_log("stopping every program", timeout_s=5)
    # Pending signals merge, so the repeat is sent once the first was taken in.
    sup.proc.send_signal(signal.SIGTERM)
    sup.wait_log("SIGTERM again")
    assert "killing every program now" not in sup.log
    assert sup.proc.poll() is None  # still within the 60 s grace
    sup.proc.send_signal(signal.SIGINT)  # Ctrl-C during the stop: kill now
    assert sup.exit_code(timeout_s=20) == 0
    log = sup.log
    assert "SIGINT again" in log and "killing every program now" in log
    assert "grace of" not in log  # the log names the real reason for the SIGKILL
    assert not tagged_pids(sup.tag)
