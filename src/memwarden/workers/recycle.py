"""Per-worker recycling, shared by the gunicorn, uvicorn and Celery integrations.

A worker measures its *own* process tree (itself and anything it spawned: a headless browser, a
subprocess) with memwarden's /proc readers — tens of microseconds with the kernel's children
files — and, once over its threshold, asks its server to replace it *after* the work in hand.
Config: the [worker] table or `MEMWARDEN_WORKER_MAX_MEMORY` (a size such as 300M, or a percentage
of the effective limit, e.g. 40%) and `MEMWARDEN_WORKER_CHECK_EVERY` (measure after every Nth
request/task).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memwarden.errors import MemwardenError
from memwarden.units import Threshold, format_bytes

if TYPE_CHECKING:
    from memwarden.settings.load import Resolved

log = logging.getLogger("memwarden")


@dataclass(frozen=True, slots=True)
class RecycleConfig:
    max_memory: Threshold  # per worker: a size, or a fraction of the effective limit
    check_every: int = 1  # measure after every Nth request / task
    interval_s: float = 1.0  # background watcher period, where no per-request hook exists


def recycle_from(resolved: Resolved) -> RecycleConfig | None:
    """None when no max memory is configured (recycling off)."""
    fields = resolved.fields()
    return None if fields["max_memory"] is None else RecycleConfig(**fields)


def load_recycle_config(
    max_memory: str | int | None = None,
    *,
    check_every: int | None = None,
    interval: str | float | None = None,
    environ: Mapping[str, str] | None = None,
) -> RecycleConfig | None:
    """Arguments > MEMWARDEN_WORKER_<KEY> > the [worker] table; None when recycling is off."""
    from memwarden.settings import load

    arguments = {"max_memory": max_memory, "check_every": check_every,
                 "check_interval": interval}
    return load(environ=environ).worker(arguments)


def _configured() -> RecycleConfig | None:
    """From the running guardian's settings (read once by memwarden.start()), else a fresh
    read of the config file and environment."""
    from memwarden import guardian

    running = guardian.current()
    if running is not None and running.settings is not None:
        return running.settings.worker()
    return load_recycle_config()


def _effective_limit_bytes() -> int | None:
    from memwarden.sample import Sampler

    return Sampler(pid=os.getpid()).sample().limit.limit_bytes


class WorkerMeter:
    """One per worker process. Thread-safe: gthread calls it from several request threads."""

    def __init__(self, config: RecycleConfig, *, kind: str) -> None:
        self.config = config
        self.kind = kind  # "gunicorn", "uvicorn", "celery": names the source in logs and events
        self.pid = os.getpid()
        limit_bytes = None if config.max_memory.fraction is None else _effective_limit_bytes()
        self.max_bytes = config.max_memory.resolve(limit_bytes)
        self._count = 0
        self._lock = threading.Lock()
        self._tripped = False

    def tree_rss_bytes(self) -> int | None:
        """RSS of this process and its descendants; None when it cannot be read."""
        import sys

        try:
            if sys.platform.startswith("linux"):
                from memwarden.readers.tree import read_tree_memory

                return read_tree_memory(self.pid).rss_bytes
            from memwarden.readers.fallback import read_tree_memory_psutil

            return read_tree_memory_psutil(self.pid).rss_bytes
        except MemwardenError as err:
            log.warning("memwarden: worker pid %d: cannot measure memory: %s", self.pid, err)
            return None

    def count(self) -> int:
        """Count one request/task handled; returns the count so far."""
        with self._lock:
            self._count += 1
            return self._count

    def check(self) -> int | None:
        """Count one request/task; the tree RSS when this worker must be recycled, once."""
        handled = self.count()
        with self._lock:
            if self._tripped or self.max_bytes is None or handled % self.config.check_every:
                return None
        rss_bytes = self.tree_rss_bytes()
        if rss_bytes is None or rss_bytes < self.max_bytes:
            return None
        with self._lock:
            if self._tripped:
                return None
            self._tripped = True
        return rss_bytes

    def announce(self, rss_bytes: int, handled: str, how: str) -> None:
        """One log line with the figures, and a restart event on a running guardian's bus."""
        message = (
            f"worker pid {self.pid} ({self.kind}) tree RSS {format_bytes(rss_bytes)} is over its "
            f"max {format_bytes(self.max_bytes)} after {self._count} {handled}: {how}"
        )
        log.warning("memwarden: %s", message)
        from memwarden import guardian
        from memwarden.events import Event, EventKind

        running = guardian.current()
        if running is not None:
            running.events.publish(Event(
                kind=EventKind.RESTART, time_s=time.time(), message=message, tier="restart",
                source=f"worker:{self.kind}",
                figures={"pid": self.pid, "tree_rss_bytes": rss_bytes, "max_bytes": self.max_bytes,
                         "handled": self._count},
            ))


_meter: WorkerMeter | None = None
_meter_lock = threading.Lock()


def process_meter(kind: str, config: RecycleConfig | None = None) -> WorkerMeter | None:
    """This process's meter, built on first use from config or the environment; a forked child
    gets its own (the parent's is recognised by its pid)."""
    global _meter
    with _meter_lock:
        if _meter is None or _meter.pid != os.getpid():
            config = config or _configured()
            _meter = None if config is None else WorkerMeter(config, kind=kind)
        return _meter
