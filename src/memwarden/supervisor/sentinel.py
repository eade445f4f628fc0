"""A tiny /bin/sh watcher that kills the programs' process groups if the supervisor dies.

PR_SET_PDEATHSIG kills a program's main process when the supervisor dies, even by SIGKILL, but
not its children: pdeathsig is not inherited across fork. The sentinel is a shell (~1 MB, not
a second Python) reading a pipe whose write end only the supervisor holds; the supervisor
writes `add PGID` / `del PGID` as programs start and stop. When the pipe reaches EOF without
`exit` (the supervisor died, however), it SIGKILLs every group still listed. It ignores
terminal signals and lives in its own process group.
"""

from __future__ import annotations

import contextlib
import os

from memwarden.supervisor.process import fork_exec

SCRIPT = r"""
trap '' INT TERM HUP QUIT
groups=""
while read -r op id; do
  case "$op" in
    add) groups="$groups $id" ;;
    del) kept=""; for g in $groups; do [ "$g" = "$id" ] || kept="$kept $g"; done; groups=$kept ;;
    exit) exit 0 ;;
  esac
done
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done  # dash: no "--"
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
        if self._pid is None:
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

    def gone(self, pid: int, returncode: int) -> bool:
        """The loop reaped pid: True (and forget the sentinel) when it was the sentinel."""
        if self._pid is None or pid != self._pid:
            return False
        self._pid = None
        return True

    def close(self) -> None:
        """Normal exit: tell the sentinel to leave without killing anything, and reap it."""
        pid = self._pid
        self._send("exit")
        os.close(self._write_fd)
        if pid is not None:
            with contextlib.suppress(ChildProcessError):  # already reaped by the loop
                os.waitpid(pid, 0)  # it leaves at once on "exit"


def start_sentinel() -> Sentinel | None:
    if not os.access(SHELL, os.X_OK):
        return None
    try:
        return Sentinel()
    except OSError:
        return None
