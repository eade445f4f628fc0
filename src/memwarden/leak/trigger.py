"""The snapshot signal (SIGUSR2 by default): the handler only enqueues; a worker thread writes.

`memwarden snapshot PID` sends it. MEMWARDEN_SNAPSHOT_SIGNAL picks another signal ("USR1",
"SIGUSR1", "10") or turns it off ("off").
"""

from __future__ import annotations

import os
import signal
import threading

from memwarden.errors import ConfigError
from memwarden.logger import log
from memwarden.units import OFF_WORDS

# Not `from typing import ...` at run time: the guardian's start loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from types import FrameType

SIGNAL_ENV = "MEMWARDEN_SNAPSHOT_SIGNAL"
DEFAULT_SIGNAL = "SIGUSR2"


def parse_signal(text: str | int, *, key: str = "snapshot_signal") -> int | None:
    """'SIGUSR2' / 'USR2' / '12' -> 12; 'off' -> None. ConfigError names the bad value."""
    if isinstance(text, int):
        try:
            return int(signal.Signals(text))
        except ValueError:
            raise ConfigError(key, text, "expected a signal name such as SIGUSR2, or off") from None
    word = text.strip()
    if word.lower() in OFF_WORDS:
        return None
    try:
        if word.isdigit():
            return int(signal.Signals(int(word)))
        name = word.upper()
        return int(signal.Signals[name if name.startswith("SIG") else "SIG" + name])
    except (KeyError, ValueError):
        raise ConfigError(key, text, "expected a signal name such as SIGUSR2, or off") from None


def configured_signal(environ: Mapping[str, str] | None = None) -> int | None:
    from memwarden.settings import load

    return parse_signal(load(environ=environ).leak().snapshot_signal)


class SnapshotTrigger:
    """A worker thread that writes a snapshot each time `request()` is called."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.last_path: Path | None = None
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memwarden-snapshot", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Safe from a signal handler: it only sets an event."""
        self._wanted.set()

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wanted.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stop.is_set():
                return
            from memwarden.leak.snapshot import write_snapshot  # json, the census: on use

            try:
                self.last_path = write_snapshot(self.directory)
            except OSError as err:
                log.error("memwarden: pid %d could not write a snapshot: %s", os.getpid(), err)
                continue
            log.warning("memwarden: pid %d wrote snapshot %s", os.getpid(), self.last_path)


_trigger: SnapshotTrigger | None = None
_lock = threading.Lock()


def install_snapshot_signal(
    signum: int | str | None = None, *, directory: Path | None = None
) -> int | None:
    """Install the snapshot signal handler (idempotent); returns the signal number, or None
    when turned off or when not called from the main thread (signals can only be set there)."""
    global _trigger
    number = configured_signal() if signum is None else parse_signal(signum)
    if number is None:
        return None
    if threading.current_thread() is not threading.main_thread():
        log.warning("memwarden: snapshot signal not installed: not on the main thread")
        return None
    with _lock:
        if _trigger is None:
            _trigger = SnapshotTrigger(directory)
        elif directory is not None:
            _trigger.directory = directory
        signal.signal(number, _trigger.handle_signal)
    return number
