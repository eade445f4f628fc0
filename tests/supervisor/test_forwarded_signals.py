"""SIGHUP, SIGUSR1, SIGUSR2 and SIGWINCH sent to `memwarden run` reach every process of each
program's process group, and the programs keep running."""

from __future__ import annotations

import signal
from collections.abc import Callable

from tests.supervisor.sup_helpers import Running

# The program and a child in its process group each print every signal they get. One write
# per line: with PYTHONUNBUFFERED, print() writes its pieces separately and two processes'
# lines would interleave on the shared pipe.
RECORDER = """
    import os, signal, subprocess, sys, threading
    def say(text):
        os.write(1, (text + "\\n").encode())
    def record(who):
        def on_signal(signum, _frame):
            say(f"{who} got {signal.Signals(signum).name}")
        for name in ("SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH"):
            signal.signal(getattr(signal, name), on_signal)
    if len(sys.argv) > 1:
        record("child")
        say("child up")
        threading.Event().wait(600)
    record("main")
    child = subprocess.Popen([sys.executable, __file__, "child"])
    say("main up")
    threading.Event().wait(600)
"""

FORWARDED = ("SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def test_forwarded_signals_reach_the_whole_process_group(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]],
) -> None:
    sup = supervise("--no-cgroup", command=script("recorder", RECORDER))
    sup.wait_log("main up", stream="out")
    sup.wait_log("child up", stream="out")
    for name in FORWARDED:
        sup.proc.send_signal(getattr(signal, name))
        sup.wait_log(f"main got {name}", stream="out")
        sup.wait_log(f"child got {name}", stream="out")
    assert sup.cli("status").returncode == 0
    assert "restart (" not in sup.log  # forwarding restarts nothing
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.exit_code() == 0
