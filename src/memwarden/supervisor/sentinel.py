"""A tiny /bin/sh watcher that kills everything the programs started if the supervisor dies.

PR_SET_PDEATHSIG kills a program's main process when the supervisor dies, even by SIGKILL, but
not its children: pdeathsig is not inherited across fork. The sentinel is a shell (~1 MB, not
a second Python) reading a pipe whose write end only the supervisor holds. The supervisor
tells it, as programs start and stop:

- `add PGID` / `del PGID`: a program's process group;
- `pid PID` / `unpid PID`: a process of a program's tree outside that group (it called
  setsid, or a daemon re-parented to the supervisor), forgotten once it is gone;
- `cg PATH` / `uncg PATH`: a program's owned cgroup directory;
- `dir PATH` / `undir PATH`: a scratch directory of the supervisor's (the programs' leak
  answers), removed after the kills: a SIGKILLed supervisor leaves none behind.

When the pipe reaches EOF (the supervisor exited or died, however), it kills whatever is
still listed: every process of each cgroup (`cgroup.kill` where the kernel has it, and
SIGKILL to each pid of `cgroup.procs` until it is empty), then the groups and the pids. At a
clean exit nothing is listed any more, so EOF kills nothing. It ignores terminal signals and
lives in its own process group.
"""

from __future__ import annotations

import contextlib
import os

from memwarden.supervisor.process import fork_exec

# `while read` and `kill` are builtins: the last act needs no other binary (rmdir is a bonus).
SCRIPT = r"""
trap '' INT TERM HUP QUIT
groups=""; pids=""; cgroups=""; dirs=""
drop() { kept=""; for x in $1; do [ "$x" = "$2" ] || kept="$kept $x"; done; }
while read -r op id; do
  case "$op" in
    add) groups="$groups $id" ;;
    del) drop "$groups" "$id"; groups=$kept ;;
    pid) pids="$pids $id" ;;
    unpid) drop "$pids" "$id"; pids=$kept ;;
    cg) cgroups="$cgroups $id" ;;
    uncg) drop "$cgroups" "$id"; cgroups=$kept ;;
    dir) dirs="$dirs $id" ;;
    undir) drop "$dirs" "$id"; dirs=$kept ;;
  esac
done
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done  # dash: no "--"
for p in $pids; do kill -KILL "$p" 2>/dev/null; done
for d in $cgroups; do
  [ -e "$d/memory.oom_control" ] && echo 0 > "$d/memory.oom_control"
  [ -e "$d/freezer.state" ] && echo THAWED > "$d/freezer.state"
  round=0
  while [ -e "$d/cgroup.procs" ] && [ $round -lt 10000 ]; do
    [ -e "$d/cgroup.kill" ] && echo 1 > "$d/cgroup.kill"
    left=""
    while read -r p; do left=1; kill -KILL "$p" 2>/dev/null; done < "$d/cgroup.procs"
    [ -z "$left" ] && break
    round=$((round + 1))
  done
  rmdir "$d" 2>/dev/null
done
for d in $dirs; do rm -rf -- "$d" 2>/dev/null; done
exit 0
"""
SHELL = "/bin/sh"


class Sentinel:
    def __init__(self) -> None:
        read_fd, self._write_fd = os.pipe()  # non-inheritable: programs never hold the write end
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            self._pid: int | None = fork_exec([SHELL, "-c", SCRIPT], env=os.environ,
                                              fds=(read_fd, null, null))
        finally:
            os.close(read_fd)
            os.close(null)

    @property
    def pid(self) -> int | None:
        return self._pid

    def _send(self, line: str) -> bool:
        if self._pid is None or self._write_fd < 0:
            return False
        try:
            os.write(self._write_fd, line.encode() + b"\n")
        except OSError:  # the sentinel is gone (killed): nothing more to tell it
            self._pid = None
            return False
        return True

    def add(self, pgid: int) -> bool:
        return self._send(f"add {pgid}")

    def remove(self, pgid: int) -> bool:
        return self._send(f"del {pgid}")

    def add_pid(self, pid: int) -> bool:
        return self._send(f"pid {pid}")

    def remove_pid(self, pid: int) -> bool:
        return self._send(f"unpid {pid}")

    def add_cgroup(self, path: str) -> bool:
        return self._send(f"cg {path}")

    def remove_cgroup(self, path: str) -> bool:
        return self._send(f"uncg {path}")

    def add_dir(self, path: str) -> bool:
        """A directory to remove at EOF; one whose path has blanks is not sent (the lists
        are split on blanks) and stays the supervisor's own to remove."""
        return not any(c.isspace() for c in path) and self._send(f"dir {path}")

    def remove_dir(self, path: str) -> bool:
        return not any(c.isspace() for c in path) and self._send(f"undir {path}")

    def gone(self, pid: int, returncode: int) -> bool:
        """The loop reaped pid: True (and forget the sentinel) when it was the sentinel."""
        if self._pid is None or pid != self._pid:
            return False
        self._pid = None
        return True

    def close(self) -> None:
        """Close the pipe: the sentinel kills whatever is still listed (nothing after a clean
        stop), then exits; reap it. Never a message that spares anything: an exit through an
        internal error must not orphan a program's tree."""
        pid = self._pid
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1
        if pid is not None:
            with contextlib.suppress(ChildProcessError):  # already reaped by the loop
                os.waitpid(pid, 0)
            self._pid = None


def start_sentinel() -> Sentinel | None:
    if not os.access(SHELL, os.X_OK):
        return None
    try:
        return Sentinel()
    except OSError:
        return None
