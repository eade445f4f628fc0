"""Listening sockets in the supervisor loop: bound once, handed to every generation.

`--socket tcp://HOST:PORT` / `unix:PATH` (TOML `socket = [...]`): the supervisor binds each
program's sockets when it is built (a bad or busy address is exit status 2 before anything
starts), and every spawn of the program gets them as fds 3.. with LISTEN_FDS / LISTEN_PID /
LISTEN_FDNAMES through the listen_exec shim (sockets.py). While one generation exits and the
next starts, connections wait in the kernel's backlog (4096) instead of being refused.
"""

from __future__ import annotations

from memwarden.supervisor.process import SpawnHook

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

    from memwarden.supervisor.config import ProgramConfig, SupervisorConfig


class SocketWiring:
    def __init__(self, config: SupervisorConfig) -> None:
        self.bound: dict[str, list[socket.socket]] = {}
        self.names: dict[str, list[str]] = {}
        if not any(program.sockets for program in config.programs):
            return  # socket & co. are not imported: the supervisor stays small
        from memwarden.supervisor import sockets

        try:
            for program in config.programs:
                if program.sockets:
                    specs = [sockets.parse_socket(text) for text in program.sockets]
                    self.bound[program.name] = sockets.bind_all(specs)
                    self.names[program.name] = [spec.name for spec in specs]
        except BaseException:
            self.close()
            raise

    def describe(self, name: str) -> str | None:
        """For the start-up log line: what the program's sockets are listening on."""
        bound = self.bound.get(name)
        if not bound:
            return None
        return ", ".join(_address(s) for s in bound)

    def spawn_hook(self, program: ProgramConfig) -> SpawnHook | None:
        bound = self.bound.get(program.name)
        if not bound:
            return None
        from memwarden.supervisor import sockets

        handoff = sockets.handoff(bound, self.names[program.name])
        return SpawnHook(pass_fds=handoff.pass_fds, env=handoff.env, wrap=handoff.wrap)

    def close(self) -> None:
        if not self.bound:
            return
        from memwarden.supervisor import sockets

        for bound in self.bound.values():
            sockets.close_all(bound)
        self.bound.clear()


def _address(sock: socket.socket) -> str:
    address = sock.getsockname()
    if isinstance(address, str):
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
