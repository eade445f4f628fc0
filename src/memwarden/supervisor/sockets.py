"""Listening sockets the supervisor owns and hands to each child generation (systemd style).

The supervisor binds `--socket tcp://HOST:PORT` / `unix:PATH` once; every generation of the
program inherits the same listening sockets, so while one generation exits and the next starts,
connections wait in the kernel's backlog instead of being refused.

Hand-off follows sd_listen_fds(3): the sockets are fds 3, 4, ... in the child, LISTEN_FDS=n,
LISTEN_PID=<the child's pid>, LISTEN_FDNAMES=a:b. LISTEN_PID is only known after fork and the
environment of exec is fixed before it, so the command is wrapped: `Handoff.wrap(argv)` puts a
tiny exec shim (listen_exec.py, run by path with `python -I -S`: no memwarden import) in front;
it moves the fds into place, sets LISTEN_PID=getpid() and execs the program under the same pid.

How the loop uses it: `sockets = bind_all(specs)` at start; per spawn `h = handoff(sockets)`,
spawn `h.wrap(command)` with `pass_fds=h.pass_fds` and `env=h.env`; `close_all(sockets)` at exit.
In the child: `memwarden.listen_fds()` (memwarden.child),
`python -m memwarden.workers.uvicorn_serve app:app --fd 3` (uvicorn with a draining shutdown),
or gunicorn (reads LISTEN_FDS).
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from memwarden.child import listen_fds as listen_fds  # moved there; kept for older imports
from memwarden.errors import ConfigError

BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
SHIM_PATH = Path(__file__).with_name("listen_exec.py")
SOURCE_FDS_ENV = "MEMWARDEN_LISTEN_SOURCE_FDS"  # read and removed by the shim


@dataclass(frozen=True, slots=True)
class SocketSpec:
    family: socket.AddressFamily
    address: tuple[str, int] | str  # (host, port) for tcp, a path for unix
    text: str  # as the user wrote it, for logs and LISTEN_FDNAMES

    @property
    def name(self) -> str:
        if isinstance(self.address, str):
            return Path(self.address).name or "unix"
        return f"tcp-{self.address[1]}"


def parse_socket(text: str, *, key: str = "socket") -> SocketSpec:
    """`tcp://HOST:PORT` (IPv6 as `tcp://[::1]:8000`) or `unix:PATH`; ConfigError otherwise."""
    value = text.strip()
    if value.startswith("unix:"):
        path = value[len("unix:") :].removeprefix("//")
        if not path:
            raise ConfigError(key, text, "expected unix:PATH with a path")
        return SocketSpec(socket.AF_UNIX, path, value)
    if value.startswith("tcp://"):
        host, sep, port = value[len("tcp://") :].rpartition(":")
        family = socket.AF_INET
        if host.startswith("[") and host.endswith("]"):
            host, family = host[1:-1], socket.AF_INET6
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(key, text, "expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8000")
        return SocketSpec(family, (host, int(port)), value)
    raise ConfigError(key, text, "expected tcp://HOST:PORT or unix:PATH")


def bind(spec: SocketSpec, *, backlog: int = BACKLOG) -> socket.socket:
    """A listening socket for spec; a stale unix socket file is replaced, a regular file is not."""
    sock = socket.socket(spec.family, socket.SOCK_STREAM)
    try:
        if isinstance(spec.address, str):
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISSOCK(os.stat(spec.address).st_mode):
                    os.unlink(spec.address)
        else:
            # Restarting memwarden must not wait for TIME_WAIT of the previous run.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(spec.address)
        sock.listen(backlog)
    except OSError as err:
        sock.close()
        raise ConfigError("socket", spec.text, f"cannot listen: {err.strerror or err}") from err
    return sock


def bind_all(specs: list[SocketSpec], *, backlog: int = BACKLOG) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    try:
        for spec in specs:
            sockets.append(bind(spec, backlog=backlog))
    except ConfigError:
        close_all(sockets)
        raise
    return sockets


def close_all(sockets: list[socket.socket]) -> None:
    """Close the sockets and remove the files of unix ones."""
    for sock in sockets:
        path = sock.getsockname() if sock.family == socket.AF_UNIX else None
        sock.close()
        if isinstance(path, str) and path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


@dataclass(frozen=True, slots=True)
class Handoff:
    """What one spawn needs: a wrapped command, the fds to keep open, environment to add."""

    pass_fds: tuple[int, ...]
    env: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable

    def wrap(self, argv: list[str]) -> list[str]:
        if not self.pass_fds:
            return list(argv)
        return [self.python, "-I", "-S", str(SHIM_PATH), *argv]


def handoff(sockets: list[socket.socket], names: list[str] | None = None) -> Handoff:
    """The spawn arguments handing `sockets` to a child as fds 3.. (LISTEN_FDS convention)."""
    if not sockets:
        return Handoff(())
    fds = tuple(s.fileno() for s in sockets)
    env = {SOURCE_FDS_ENV: ",".join(map(str, fds)), "LISTEN_FDS": str(len(fds))}
    if names:
        env["LISTEN_FDNAMES"] = ":".join(names)
    return Handoff(fds, env)
