"""Where the control socket lives, and proof that it is ours.

The default directory is `$XDG_RUNTIME_DIR/memwarden` (a per-user tmpfs, 0700), else
`/run/memwarden` for root, else `memwarden-<uid>` under the temp directory. A name in a shared
directory is predictable: another local user may create it first, as a directory they own or
a symlink, and put a fake socket in it. So the default directory must be a real directory
(not a symlink), owned by us, with no access for group or others; anything else is refused
with a line saying why (`memwarden run` exits 2). Whatever the path, a client talks only to
a socket whose listener runs as the same user (SO_PEERCRED), or any user when it is root.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

from memwarden.errors import MemwardenError


class ControlError(MemwardenError):
    """No supervisor answers on the socket, or it answered with an error."""


class UnsafeControlPath(ControlError):
    """The control directory or socket belongs to someone else, or others may use it."""


def socket_env_names() -> tuple[str, ...]:
    """MEMWARDEN_SUPERVISOR_CONTROL_SOCKET, then the older MEMWARDEN_CONTROL_SOCKET."""
    from memwarden.settings.registry import find

    setting = find("supervisor.control_socket")
    return tuple(n for n in (setting.env, *setting.aliases) if n)


def default_control_path(environ: dict[str, str] | None = None) -> Path:
    """$MEMWARDEN_CONTROL_SOCKET, else $XDG_RUNTIME_DIR/memwarden/, /run/memwarden/ for
    root, else a per-user directory under the temp dir."""
    return control_location(None, environ)[0]


def control_location(option: str | os.PathLike[str] | None,
                     environ: dict[str, str] | None = None) -> tuple[Path, bool]:
    """(socket path, whether its directory is memwarden's own and must be private)."""
    env = dict(os.environ if environ is None else environ)
    if option:
        return Path(option), False
    for name in socket_env_names():
        if env.get(name, "").strip():
            return Path(env[name]), False
    if env.get("XDG_RUNTIME_DIR"):
        base = Path(env["XDG_RUNTIME_DIR"]) / "memwarden"
    elif os.geteuid() == 0:
        base = Path("/run/memwarden")
    else:
        import tempfile

        base = Path(tempfile.gettempdir()) / f"memwarden-{os.geteuid()}"
    return base / "control.sock", True


def ensure_private_dir(directory: Path, *, create: bool) -> bool:
    """Check (and with create, make) memwarden's own control directory.

    Returns False when it is missing and create is False. Raises UnsafeControlPath when it
    is a symlink or not a directory, owned by another user, or open to group or others."""
    if create:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError as err:
            raise UnsafeControlPath(f"cannot create the control directory {directory}: "
                                    f"{err.strerror}") from err
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeControlPath(f"control directory {directory} is a symlink: refusing it "
                                "(another user may have created it)")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeControlPath(f"control directory {directory} is not a directory")
    if info.st_uid != os.geteuid():
        raise UnsafeControlPath(f"control directory {directory} is owned by uid "
                                f"{info.st_uid}, not by you (uid {os.geteuid()}): refusing it; "
                                "set XDG_RUNTIME_DIR or --control-socket")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise UnsafeControlPath(f"control directory {directory} has mode {mode:04o}: group "
                                f"or others may use it; expected 0700 (chmod 700 {directory})")
    return True


def check_stale_socket(path: Path) -> None:
    """Before replacing path: refuse a file there that another user owns."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if info.st_uid != os.geteuid():
        raise UnsafeControlPath(f"{path} exists and is owned by uid {info.st_uid}, not by you "
                                f"(uid {os.geteuid()}): refusing to replace it")
    if not stat.S_ISSOCK(info.st_mode):
        raise UnsafeControlPath(f"{path} exists and is not a socket: refusing to replace it")


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (SO_PEERCRED)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)  # struct ucred: 3 ints
    return int.from_bytes(raw[4:8], sys.byteorder)


def trusted_peer(uid: int) -> bool:
    """Whether a peer running as uid may be spoken to: ourselves, or anyone for root."""
    own = os.geteuid()
    return uid == own or own == 0 or uid == 0
