"""uvicorn with a draining shutdown: `python -m memwarden.workers.uvicorn_serve APP [OPTIONS]`.

    memwarden run --socket tcp://127.0.0.1:8000 -- \\
        python -m memwarden.workers.uvicorn_serve app:app --fd 3

Every uvicorn option works unchanged; only the shutdown differs. On SIGTERM plain uvicorn stops
accepting and, in the same step, closes every connection that has no request in progress,
including one it accepted a moment ago whose request bytes are already in the kernel buffer
but not yet read: that client gets a reset (measured: about 1 request per 10 restarts at
250 req/s). DrainingServer stops accepting first, then gives connections that have not
delivered their first request up to DRAIN_FIRST_REQUEST_S to do so, and only then runs
uvicorn's own shutdown, which serves those requests to the end. With a socket memwarden holds
(`--socket`), connections that arrive meanwhile wait in the backlog for the next generation.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import sys

import uvicorn

# Bounds the extra shutdown time when a client connected and never sent anything.
DRAIN_FIRST_REQUEST_S = 1.0
# Lets accepts already taken off the listening socket become connections (two loop turns).
MIN_DRAIN_S = 0.01
DRAIN_POLL_S = 0.005

logger = logging.getLogger("uvicorn.error")


def _awaiting_first_request(connection: object) -> bool:
    # h11 and httptools protocols both keep the request in progress as `cycle`, None until the
    # first request line arrives; a protocol without it (websockets) is left to uvicorn.
    return getattr(connection, "cycle", False) is None


class DrainingServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(MIN_DRAIN_S)
        waiting = self._silent_connections()
        while waiting and loop.time() - started < DRAIN_FIRST_REQUEST_S:
            await asyncio.sleep(DRAIN_POLL_S)
            waiting = self._silent_connections()
        logger.info("Stopped accepting; waited %.0f ms for first requests (%d still silent)",
                    (loop.time() - started) * 1000, waiting)
        await super().shutdown(sockets)

    def _silent_connections(self) -> int:
        """Open connections that have not delivered their first request yet."""
        return sum(_awaiting_first_request(c) for c in self.server_state.connections)


def main(argv: list[str] | None = None) -> None:
    # Through the module's import name, not __main__, so `--workers N` children can unpickle it.
    from memwarden.workers.uvicorn_serve import DrainingServer as server_class

    # uvicorn's CLI builds its server from this module-level name in uvicorn.main.run(). (The
    # module, not `uvicorn.main`: the package rebinds that name to the click command.)
    cli = importlib.import_module("uvicorn.main")
    vars(cli)["Server"] = server_class
    cli.main.main(args=argv, prog_name="python -m memwarden.workers.uvicorn_serve")


if __name__ == "__main__":
    main(sys.argv[1:])
