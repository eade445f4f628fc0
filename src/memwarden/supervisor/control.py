"""The control socket: a Unix stream socket (mode 0600) speaking one JSON line each way.

Requests: {"cmd": "status"}, {"cmd": "restart", "program": NAME},
{"cmd": "stop", "program": NAME | null}. Replies: {"ok": true, ...} or {"ok": false, "error": ...}.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import stat
from collections.abc import Callable
from pathlib import Path

from memwarden.errors import MemwardenError

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Handler = Callable[[dict[str, Any]], dict[str, Any]]

MAX_REQUEST_BYTES = 64 * 1024


class ControlError(MemwardenError):
    """No supervisor answers on the socket, or it answered with an error."""


def default_control_path(environ: dict[str, str] | None = None) -> Path:
    """$MEMWARDEN_CONTROL_SOCKET, else $XDG_RUNTIME_DIR/memwarden/, /run/memwarden/ for
    root, else a per-user directory under the temp dir."""
    env = dict(os.environ if environ is None else environ)
    if env.get("MEMWARDEN_CONTROL_SOCKET"):
        return Path(env["MEMWARDEN_CONTROL_SOCKET"])
    if env.get("XDG_RUNTIME_DIR"):
        base = Path(env["XDG_RUNTIME_DIR"]) / "memwarden"
    elif os.geteuid() == 0:
        base = Path("/run/memwarden")
    else:
        import tempfile

        base = Path(tempfile.gettempdir()) / f"memwarden-{os.geteuid()}"
    return base / "control.sock"


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self._buffers: dict[socket.socket, bytes] = {}
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _answers(path):
            raise ControlError(f"{path}: another memwarden supervisor is listening there")
        path.unlink(missing_ok=True)  # a stale socket from a supervisor that was killed
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # created 0600: no window where others may connect
        try:
            self.sock.bind(str(path))
        finally:
            os.umask(old_umask)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        self.sock.listen(16)
        self.sock.setblocking(False)

    def register(self, selector: selectors.BaseSelector) -> None:
        selector.register(self.sock, selectors.EVENT_READ, self._accept)

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self._buffers[conn] = b""
        selector.register(conn, selectors.EVENT_READ, lambda sel: self._read(sel, conn))

    def _read(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        data = self._buffers.get(conn, b"") + chunk
        if chunk and b"\n" not in data and len(data) < MAX_REQUEST_BYTES:
            self._buffers[conn] = data
            return
        selector.unregister(conn)
        self._buffers.pop(conn, None)
        if chunk:
            self._reply(conn, data.split(b"\n", 1)[0])
        conn.close()

    def _reply(self, conn: socket.socket, line: bytes) -> None:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("expected a JSON object")
            reply = self.handler(request)
        except ValueError as err:
            reply = {"ok": False, "error": f"bad request: {err}"}
        conn.setblocking(True)
        conn.settimeout(2.0)  # a client that never reads must not stall the loop for long
        with contextlib.suppress(OSError):  # the client went away; nothing to tell
            conn.sendall(json.dumps(reply, default=str).encode() + b"\n")

    def close(self, selector: selectors.BaseSelector | None = None) -> None:
        for conn in list(self._buffers):
            if selector is not None:
                selector.unregister(conn)
            conn.close()
        self._buffers.clear()
        if selector is not None:
            selector.unregister(self.sock)
        self.sock.close()
        self.path.unlink(missing_ok=True)


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def request(path: Path, payload: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    """Send one request and return the reply; ControlError when nobody answers."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(str(path))
        sock.sendall(json.dumps(payload).encode() + b"\n")
        data = b""
        while b"\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as err:
        reason = err.strerror or str(err)
        raise ControlError(f"{path}: no memwarden supervisor answers ({reason})") from err
    finally:
        sock.close()
    try:
        reply = json.loads(data)
    except ValueError as err:
        raise ControlError(f"{path}: unreadable reply {data[:200]!r}") from err
    if not isinstance(reply, dict):
        raise ControlError(f"{path}: unreadable reply {data[:200]!r}")
    return reply
