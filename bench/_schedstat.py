"""CPU time a process has spent on a CPU, in nanoseconds, from the scheduler's own counters.

/proc/PID/task/TID/schedstat's first field is the thread's time on a CPU in ns, where
/proc/PID/stat's utime and stime count 10 ms ticks: an idle supervisor's few ms a minute need
the former. Summed over every thread, so a sampler or helper thread counts. A thread that
ends between two readings takes its time with it; the benches read long-lived processes.
"""

from __future__ import annotations

import os


def cpu_ns(pid: int) -> int:
    """Time on a CPU of every thread of pid so far; 0 for a process that is gone."""
    return sum(thread_cpu_ns(pid).values())


def thread_cpu_ns(pid: int) -> dict[int, int]:
    """Time on a CPU of each thread of pid so far, by thread id (the main thread's is pid)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return {}
    times_ns: dict[int, int] = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as stat:
                times_ns[int(tid)] = int(stat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended since the listing
    return times_ns
