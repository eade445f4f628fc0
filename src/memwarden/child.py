"""The child side of `memwarden run`: what a supervised program calls.

    import memwarden
    memwarden.on_shutdown(save_state)   # runs on the supervisor's SIGTERM, no start() needed
    socks = memwarden.listen_fds()      # the sockets of `--socket`, as fds 3.. (sd_listen_fds)
    memwarden.notify_ready()            # sd_notify READY=1 (systemd or `--watchdog`)
    memwarden.notify_watchdog()         # sd_notify WATCHDOG=1, at least every WATCHDOG_USEC

Everything works the same under systemd (LISTEN_FDS, NOTIFY_SOCKET) and is a no-op outside a
supervisor. Importing this module costs nothing: `socket` and `signal` load on first use.
"""

from __future__ import annotations

import os

# Not `from typing import ...` at run time: `import memwarden` stays light.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Mapping

    from memwarden.hooks import HookRegistry

SUPERVISED_ENV = "MEMWARDEN_SUPERVISED"  # "1" in every program `memwarden run` starts
SD_LISTEN_FDS_START = 3

_warned = False  # the "cannot install a SIGTERM handler" warning is said once


def is_supervised(environ: Mapping[str, str] | None = None) -> bool:
    """True in a program started by `memwarden run` (and in what it starts)."""
    return (os.environ if environ is None else environ).get(SUPERVISED_ENV) == "1"


def listen_fds(*, unset_environment: bool = True) -> list[socket.socket]:
    """The sockets passed as fds 3.. (like sd_listen_fds(3)); [] when none were.

    Only honoured when LISTEN_PID is this process (the variables leak into grandchildren
    otherwise). The fds become close-on-exec so they do not leak further either.
    """
    import socket

    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
        pid = int(os.environ.get("LISTEN_PID", "0"))
    except ValueError:
        return []
    if pid != os.getpid() or count <= 0:
        return []
    if unset_environment:
        for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            os.environ.pop(name, None)
    sockets = []
    for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count):
        os.set_inheritable(fd, False)
        sockets.append(socket.socket(fileno=fd))  # family and type are read from the fd
    return sockets


def notify(message: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send "READY=1", "WATCHDOG=1", "STATUS=..." to $NOTIFY_SOCKET (sd_notify(3)); False
    when there is no socket to send to."""
    import socket

    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # the abstract namespace, as systemd spells it
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(message.encode(), address)
    return True


def notify_ready(status: str | None = None) -> bool:
    """Tell the supervisor (or systemd) start-up is done; status: a line for its status."""
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def notify_watchdog() -> bool:
    """Keep-alive for `--watchdog` (systemd WatchdogSec): send at least every WATCHDOG_USEC."""
    return notify("WATCHDOG=1")


def run_shutdown_hooks() -> None:
    """Run every on_shutdown hook now: call it from your own SIGTERM handler, if you have one."""
    from memwarden import actions
    from memwarden.hooks import REGISTRY

    actions.run_shutdown_hooks(REGISTRY)


def install_sigterm_hooks(registry: HookRegistry | None = None) -> bool:
    """On SIGTERM, run the shutdown hooks, then die of SIGTERM as before. True when installed.

    A supervisor's graceful stop is a SIGTERM; without a handler Python dies at once and no
    on_shutdown hook runs. Installed only over the default action, from the main thread, so an
    application's (or server's) own handler is never replaced.
    """
    import signal
    import threading

    from memwarden.hooks import REGISTRY

    hooks = REGISTRY if registry is None else registry
    current = signal.getsignal(signal.SIGTERM)
    if getattr(current, "memwarden_hooks", None) is hooks:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    if current is not signal.SIG_DFL:
        return False
    # Loaded now, not in the handler: a stop at the memory wall must not spend its grace (and
    # memory the program does not have) importing logging and ctypes.
    import logging

    from memwarden import actions

    def on_sigterm(signum: int, _frame: object) -> None:
        logging.getLogger("memwarden").warning("memwarden: SIGTERM: running %d shutdown "
                                               "hook(s)", len(hooks.shutdown_hooks()))
        actions.run_shutdown_hooks(hooks)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)  # exit status still says "terminated by SIGTERM"

    on_sigterm.memwarden_hooks = hooks  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, on_sigterm)
    return True


def shutdown_on_sigterm(registry: HookRegistry | None = None, *,
                        environ: Mapping[str, str] | None = None) -> bool:
    """Under `memwarden run`: make sure the supervisor's SIGTERM runs the shutdown hooks, or
    say once, as a warning, why it cannot and what to do. Outside a supervisor: nothing."""
    global _warned
    if not is_supervised(environ):
        return False
    if install_sigterm_hooks(registry):
        return True
    import logging
    import signal
    import threading

    from memwarden.hooks import REGISTRY

    if _warned or not (REGISTRY if registry is None else registry).shutdown_hooks():
        return False
    _warned = True
    if threading.current_thread() is not threading.main_thread():
        why = ("on_shutdown was first called outside the main thread, where no signal handler "
               "can be installed: call it from the main thread (or memwarden.start() there)")
    else:
        why = (f"SIGTERM already has a handler ({signal.getsignal(signal.SIGTERM)!r}): call "
               "memwarden.run_shutdown_hooks() from it, or register on_shutdown before it is "
               "installed")
    logging.getLogger("memwarden").warning(
        "memwarden: on_shutdown hooks will not run when `memwarden run` stops this program: %s",
        why)
    return False
