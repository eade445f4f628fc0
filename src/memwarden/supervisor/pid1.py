"""Init duties (as PID 1 in a container, and as a subreaper anywhere): reap every child,
forward signals to the programs, like tini.

The kernel delivers to PID 1 only signals it has a handler for, so the loop installs handlers
for all of FORWARDED, SHUTDOWN and FORCE; their handlers only enqueue.
"""

from __future__ import annotations

import os
import signal

SHUTDOWN = (signal.SIGTERM, signal.SIGINT)  # graceful stop of every program, then exit
FORCE = (signal.SIGQUIT,)  # SIGKILL every program's tree now, then exit (so does SIGINT twice)
FORWARDED = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)  # passed on as is
HANDLED = (*SHUTDOWN, *FORCE, *FORWARDED, signal.SIGCHLD)


def is_pid1() -> bool:
    return os.getpid() == 1


def reap_children() -> list[tuple[int, int]]:
    """(pid, wait status) of every child that has exited: ours and re-parented orphans."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        reaped.append((pid, status))
    return reaped


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"killed by {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
