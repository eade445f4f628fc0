"""Stopping is decisive: SIGTERM storms never cut a save hook short, a SIGTERM-ignoring child
is killed after its grace with the reason logged, SIGQUIT and SIGINT-during-a-stop kill now."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from tests.faults.fault_helpers import COUNTER, assert_nothing_left, increment, saved_count
from tests.supervisor.sup_helpers import Running


def _counter(supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
             tmp_path: Path, *args: str, save_s: str = "1.5") -> tuple[Running, Path, Path]:
    state, path = tmp_path / "count", tmp_path / "counter.sock"
    sup = supervise("--no-cgroup", *args,
                    command=[*script("counter", COUNTER), str(state), str(path)],
                    COUNTER_SAVE_S=save_s)
    sup.wait_log("counter up", stream="out")
    return sup, state, path


def test_a_sigterm_storm_never_cuts_the_save_hook_short(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    sup, state, path = _counter(supervise, script, tmp_path, "--grace", "30s")
    acked = [increment(path) for _ in range(5)]
    sup.proc.send_signal(signal.SIGTERM)
    sup.wait_log("stopping every program")
    for _ in range(200):  # while the hook saves (1.5 s of work): a storm of repeats
        sup.proc.send_signal(signal.SIGTERM)
    assert sup.exit_code() == 0
    assert saved_count(state) == acked[-1] == 5  # no increment lost
    log = sup.log
    assert "saved 5" in sup.out
    assert log.count("SIGTERM again") == 1  # one line for the whole storm
    assert "SIGKILL" not in log and "grace of" not in log
    assert_nothing_left(sup)


def test_restarts_keep_every_increment(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    sup, state, path = _counter(supervise, script, tmp_path, save_s="0.1")
    total = 0
    for generation in range(1, 4):
        total = max(total, *(increment(path) for _ in range(3)))
        assert sup.cli("restart", "counter").returncode == 0
        sup.wait_log("counter up", count=generation + 1, stream="out")
    assert increment(path) == total + 1 == 10
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert saved_count(state) == 10
    assert_nothing_left(sup)


IGNORES_SIGTERM = """
    import signal, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("stubborn up", flush=True)
    threading.Event().wait(600)
"""


def test_a_sigterm_ignoring_child_is_killed_after_its_grace(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
) -> None:
    sup = supervise("--no-cgroup", "--grace", "300ms",
                    command=script("stubborn", IGNORES_SIGTERM))
    sup.wait_log("stubborn up", stream="out")
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    log = sup.log
    assert "grace of 300ms over: SIGKILL to" in log and "[stubborn] now stopped" in log
    assert_nothing_left(sup)


def test_sigquit_kills_at_once_and_says_so(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
) -> None:
    sup = supervise("--no-cgroup", "--grace", "600s",
                    command=script("stubborn", IGNORES_SIGTERM))
    sup.wait_log("stubborn up", stream="out")
    sup.proc.send_signal(signal.SIGQUIT)
    assert sup.exit_code() == 0
    log = sup.log
    assert "SIGQUIT received" in log and "killing every program now" in log
    assert "grace of" not in log
    assert_nothing_left(sup)


def test_memwarden_stop_asked_again_is_still_one_graceful_stop(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
    tmp_path: Path,
) -> None:
    # A 5 s hook: the second `stop` (a fresh interpreter) arrives while it saves.
    sup, state, path = _counter(supervise, script, tmp_path, "--grace", "30s", save_s="5")
    acked = [increment(path) for _ in range(2)]
    assert sup.cli("stop").returncode == 0
    sup.wait_log("stopping every program")
    assert sup.cli("stop").returncode == 0  # while the hook saves
    assert sup.exit_code() == 0
    assert saved_count(state) == acked[-1] == 2
    assert "already stopping gracefully" in sup.log and "SIGKILL" not in sup.log
    assert_nothing_left(sup)
