"""Exec shim for socket hand-off: `python -I -S listen_exec.py CMD ARGS...`.

Run by path (not -m) so it imports nothing of memwarden: it only costs a bare interpreter
start. It moves the inherited listening sockets named in MEMWARDEN_LISTEN_SOURCE_FDS to fds
3, 4, ..., sets LISTEN_PID to its own pid (which the program keeps: exec does not change it)
and execs the program. See sockets.py.
"""

from __future__ import annotations

import fcntl
import os
import sys

SD_LISTEN_FDS_START = 3
SOURCE_FDS_ENV = "MEMWARDEN_LISTEN_SOURCE_FDS"


def move_fds(sources: list[int]) -> None:
    """Put sources[i] at fd 3+i, even when sources and targets overlap."""
    first_free = SD_LISTEN_FDS_START + len(sources)
    # Copy every source above the target range first, so no dup2 clobbers a source not yet
    # moved; the copies are close-on-exec and vanish at exec.
    copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, first_free) for fd in sources]
    for index, copy in enumerate(copies):
        os.dup2(copy, SD_LISTEN_FDS_START + index, inheritable=True)
    for fd in set(sources) - set(range(SD_LISTEN_FDS_START, first_free)):
        os.close(fd)
    for copy in copies:
        os.close(copy)


def main(argv: list[str]) -> None:
    if not argv:
        sys.stderr.write("listen_exec: usage: listen_exec.py CMD [ARGS...]\n")
        sys.exit(2)
    sources = [int(fd) for fd in os.environ.pop(SOURCE_FDS_ENV, "").split(",") if fd]
    move_fds(sources)
    os.environ["LISTEN_FDS"] = str(len(sources))
    os.environ["LISTEN_PID"] = str(os.getpid())
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        sys.stderr.write(f"listen_exec: cannot execute {argv[0]}: {err}\n")
        sys.exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
