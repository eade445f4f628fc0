"""The control socket: a Unix stream socket (mode 0600) speaking one JSON line each way.

Requests: {"cmd": "status"}, {"cmd": "restart", "program": NAME},
{"cmd": "stop", "program": NAME | null}. Replies: {"ok": true, ...} or {"ok": false, "error": ...}.

Hostile input gets an error reply, never an exception in the loop: a line is at most
MAX_REQUEST_BYTES and nests at most MAX_NESTING deep (checked before json.loads, which would
recurse), cmd and program must be strings. Only peers of the same user (or root) are served.
Out of file descriptors (EMFILE on accept), the server closes its oldest connection, or stops
accepting for ACCEPT_PAUSE_S, and carries on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

from memwarden.supervisor.control_dir import (
    ControlError,
    UnsafeControlPath,
    check_stale_socket,
    default_control_path,
    ensure_private_dir,
    peer_uid,
    trusted_peer,
)

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Handler = Callable[[dict[str, Any]], dict[str, Any]]

__all__ = ["ControlError", "ControlServer", "UnsafeControlPath", "default_control_path",
           "request"]

MAX_REQUEST_BYTES = 8 * 1024  # a request is a few dozen bytes
MAX_NESTING = 4  # a request is one flat object
MAX_CONNECTIONS = 32
ACCEPT_PAUSE_S = 0.1
_OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class ControlServer:
    def __init__(self, path: Path, handler: Handler, *, private_dir: bool = False,
                 on_error: Callable[[str, BaseException], None] | None = None) -> None:
        self.path = path
        self.handler = handler
        self.on_error = on_error
        self._buffers: dict[socket.socket, bytes] = {}  # insertion order: oldest first
        self._selector: selectors.BaseSelector | None = None
        self._paused_until_s: float | None = None
        if private_dir:
            ensure_private_dir(path.parent, create=True)
        else:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _answers(path):
            raise ControlError(f"{path}: another memwarden supervisor is listening there; "
                               "give this one its own --control-socket PATH")
        check_stale_socket(path)
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
        self._selector = selector
        selector.register(self.sock, selectors.EVENT_READ, self._accept)

    # -- accepting ---------------------------------------------------------------------------
    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno not in _OUT_OF_FDS:
                raise
            self._out_of_fds(selector)
            return
        if not trusted_peer(peer_uid(conn)):
            conn.close()  # the socket is 0600; a foreign peer got here by a copied fd
            return
        if len(self._buffers) >= MAX_CONNECTIONS:
            self._drop(selector, next(iter(self._buffers)))
        conn.setblocking(False)
        self._buffers[conn] = b""
        selector.register(conn, selectors.EVENT_READ, lambda sel: self._read(sel, conn))

    def _out_of_fds(self, selector: selectors.BaseSelector) -> None:
        """Free an fd: our oldest connection, else stop accepting for a moment (the listening
        socket stays readable, and would spin the loop)."""
        if self._buffers:
            self._drop(selector, next(iter(self._buffers)))
            return
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(self.sock)
        self._paused_until_s = time.monotonic() + ACCEPT_PAUSE_S

    def deadline_s(self) -> float | None:
        return self._paused_until_s

    def tick(self, now_s: float) -> None:
        """Accept again once the pause is over."""
        if self._paused_until_s is not None and now_s >= self._paused_until_s:
            self._paused_until_s = None
            if self._selector is not None:
                self._selector.register(self.sock, selectors.EVENT_READ, self._accept)

    def _drop(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn)
        self._buffers.pop(conn, None)
        conn.close()

    # -- requests ----------------------------------------------------------------------------
    def _read(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        data = self._buffers.get(conn, b"") + chunk
        if chunk and b"\n" not in data and len(data) <= MAX_REQUEST_BYTES:
            self._buffers[conn] = data
            return
        self._drop_keep_open(selector, conn)
        try:
            if chunk:
                line, newline, _ = data.partition(b"\n")
                if not newline or len(line) > MAX_REQUEST_BYTES:
                    self._send(conn, {"ok": False, "error": "bad request: longer than "
                                      f"{MAX_REQUEST_BYTES} bytes"})
                else:
                    self._send(conn, self._answer(line))
        finally:
            conn.close()

    def _drop_keep_open(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn)
        self._buffers.pop(conn, None)

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = parse_request(line)
        except ValueError as err:
            return {"ok": False, "error": f"bad request: {err}"}
        try:
            return self.handler(request)
        except Exception as err:
            if self.on_error is not None:
                self.on_error("a control request", err)
            return {"ok": False, "error": f"internal error: {type(err).__name__}: {err}"}

    @staticmethod
    def _send(conn: socket.socket, reply: dict[str, Any]) -> None:
        conn.setblocking(True)
        conn.settimeout(2.0)  # a client that never reads must not stall the loop for long
        with contextlib.suppress(OSError):  # the client went away; nothing to tell
            conn.sendall(json.dumps(reply, default=str).encode() + b"\n")

    def close(self, selector: selectors.BaseSelector | None = None) -> None:
        for conn in list(self._buffers):
            if selector is not None:
                with contextlib.suppress(KeyError, ValueError):
                    selector.unregister(conn)
            conn.close()
        self._buffers.clear()
        if selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(self.sock)
        self.sock.close()
        self.path.unlink(missing_ok=True)


def parse_request(line: bytes) -> dict[str, Any]:
    """One request line as a dict; ValueError naming what is wrong."""
    depth = nesting(line)
    if depth > MAX_NESTING:
        raise ValueError(f"nested {depth} deep (at most {MAX_NESTING})")
    try:
        request = json.loads(line)
    except RecursionError:  # unreachable after nesting(); kept as a second wall
        raise ValueError("nested too deep") from None
    if not isinstance(request, dict):
        raise ValueError("expected a JSON object")
    if not isinstance(request.get("cmd"), str):
        raise ValueError(f"cmd must be a string, not {request.get('cmd')!r:.40}")
    program = request.get("program")
    if program is not None and not isinstance(program, str):
        raise ValueError(f"program must be a string or null, not {program!r:.40}")
    return request


def nesting(line: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in line:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


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


def request(path: Path, payload: dict[str, Any], timeout_s: float = 30.0, *,
            private_dir: bool = False) -> dict[str, Any]:
    """Send one request and return the reply; ControlError when nobody answers, and
    UnsafeControlPath when the directory or the listener is someone else's."""
    if private_dir and not ensure_private_dir(path.parent, create=False):
        raise ControlError(f"{path}: no memwarden supervisor answers (no {path.parent})")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(str(path))
        uid = peer_uid(sock)
        if not trusted_peer(uid):
            raise UnsafeControlPath(f"{path}: the listener runs as uid {uid}, not as you "
                                    f"(uid {os.geteuid()}): not talking to it")
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
