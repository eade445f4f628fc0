"""Shared pieces of the fault-injection suite: a counter program that saves on SIGTERM, and
checks that nothing a supervisor started is left (by /proc scan and by cgroup).

Every supervisor runs with a unique MEMWARDEN_TEST_TAG in its environment, inherited by all
it starts (setsid and double-forked processes included): `tagged_pids` is the /proc scan.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

# Counts requests on a Unix socket; on SIGTERM it stops accepting, then saves the count
# slowly (COUNTER_SAVE_S, a shutdown hook doing real work) and prints "saved N".
COUNTER = """
    import os, signal, socket, sys, threading
    state, path = sys.argv[1], sys.argv[2]
    count = int(open(state).read()) if os.path.exists(state) else 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(8)
    server.settimeout(0.05)
    print("counter up", count, flush=True)
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except (TimeoutError, InterruptedError):
            continue
        with conn:
            conn.recv(16)
            count += 1
            conn.sendall(f"{count}\\n".encode())
    threading.Event().wait(float(os.environ.get("COUNTER_SAVE_S", "0.3")))  # slow hook
    with open(state + ".tmp", "w") as f:
        f.write(str(count))
    os.replace(state + ".tmp", state)
    print("saved", count, flush=True)
"""


def increment(path: Path) -> int:
    """One acknowledged increment: the counter's new value."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(30)
        conn.connect(str(path))
        conn.sendall(b"inc\n")
        return int(conn.makefile().readline())


def saved_count(state: Path) -> int:
    return int(state.read_text()) if state.exists() else 0


def owned_cgroups(supervisor_pid: int) -> list[Path]:
    """The supervisor's owned cgroups that still exist: memory (v1 or v2), v1 freezer."""
    from memwarden.readers.cgroup import find_memory_cgroup, find_v1_cgroup

    location = find_memory_cgroup()
    parents = [location.path if location is not None else None, find_v1_cgroup("freezer")]
    return [p for parent in parents if parent is not None and parent.exists()
            for p in parent.iterdir()
            if p.name.startswith("memwarden-")
            and p.name.rpartition(".")[2].partition("-ns")[0] == str(supervisor_pid)]


def assert_nothing_left(sup: Running, supervisor_pid: int | None = None) -> None:
    """Nothing the supervisor started runs any more, and its cgroups are gone."""
    wait_for(lambda: not tagged_pids(sup.tag), timeout_s=20,
             what=f"no process left of {sup.tag} (left: {sorted(tagged_pids(sup.tag))})")
    pid = supervisor_pid if supervisor_pid is not None else sup.proc.pid
    wait_for(lambda: not owned_cgroups(pid), timeout_s=20, what="its owned cgroups removed")


def pgid_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
