"""The harness's CPU time: nanoseconds on a CPU, every thread, from real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import compare_procs

BURN_NS = 300_000_000
# A second thread burns CPU by its own clock, says so and sleeps (a thread that ended would
# take its time with it); the main thread only waits.
BURNER = f"""
import threading, time
def burn():
    while time.thread_time_ns() < {BURN_NS}:
        pass
    print("burnt", flush=True)
    time.sleep(3600)
threading.Thread(target=burn, daemon=True).start()
time.sleep(3600)
"""


def test_cpu_time_counts_every_thread(reaper: list[subprocess.Popen[bytes]]) -> None:
    child = subprocess.Popen([sys.executable, "-c", BURNER], stdout=subprocess.PIPE,
                             start_new_session=True)
    reaper.append(child)
    assert child.stdout is not None and child.stdout.readline() == b"burnt\n"
    main_thread = Path(f"/proc/{child.pid}/task/{child.pid}/schedstat")
    main_thread_ns = int(main_thread.read_text().split()[0])
    assert main_thread_ns < BURN_NS  # so the total below needs the other thread's time
    assert compare_procs.cpu_ns(child.pid) >= BURN_NS + main_thread_ns


def test_a_process_that_is_gone_has_spent_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    assert not compare_procs.alive(child.pid)
    assert compare_procs.cpu_ns(child.pid) == 0
