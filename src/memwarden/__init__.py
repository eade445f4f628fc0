"""memwarden: a memory guardian for Python services.

Kept light on purpose: importing memwarden loads only this module; the guardian, readers and
their dependencies load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Not `from typing import TYPE_CHECKING`: importing typing costs ~10 ms, most of this module's
# import time. mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from memwarden.child import (
        SUPERVISED_ENV,
        is_supervised,
        listen_fds,
        notify_ready,
        notify_watchdog,
        run_shutdown_hooks,
    )
    from memwarden.guardian import Guardian, GuardianStatus

__all__ = [
    "SUPERVISED_ENV", "__version__", "is_supervised", "listen_fds", "notify_ready",
    "notify_watchdog", "on_pressure", "on_shutdown", "run_shutdown_hooks", "snapshot", "start",
    "status", "stop",
]
# The child API (memwarden.child), loaded on first use.
_CHILD_API = frozenset({"SUPERVISED_ENV", "is_supervised", "listen_fds", "notify_ready",
                        "notify_watchdog", "run_shutdown_hooks"})


def __getattr__(name: str) -> Any:
    if name in _CHILD_API:
        from memwarden import child

        return getattr(child, name)
    raise AttributeError(f"module 'memwarden' has no attribute {name!r}")


def start(**options: Any) -> Guardian:
    """Start the in-process guardian (idempotent). Options: limit, warn, critical, restart,
    interval, metric, trace, config_path, environ; unset ones come from MEMWARDEN_* and TOML."""
    from memwarden import guardian

    return guardian.start(**options)


def stop() -> None:
    """Stop the guardian thread, if one runs."""
    from memwarden import guardian

    guardian.stop()


def status() -> GuardianStatus:
    """The latest sample, tier, limit and headroom (a fresh one-off sample without a guardian)."""
    from memwarden import guardian

    running = guardian.current()
    return running.status() if running is not None else guardian.oneoff_status()


def on_pressure(target: Any, tier: str = "critical") -> Any:
    """Register a cleanup run when memory reaches `tier`: a callable, or an object with
    clear()/cache_clear() (a dict, a set, an lru_cache). Returns target, so it decorates too."""
    from memwarden.hooks import REGISTRY
    from memwarden.policy import Tier

    REGISTRY.add_pressure(target, Tier.from_label(tier))
    return target


def on_shutdown(fn: Callable[[], object], every: str | float | None = None) -> Callable[[], object]:
    """Register fn to run before any graceful exit memwarden causes; with `every` ("10s") it
    also runs periodically as a checkpoint (with the guardian started), so a kill nobody can
    prevent loses one interval. Under `memwarden run` it works without start(): the first hook
    installs a SIGTERM handler that runs the hooks (or warns once why it cannot)."""
    from memwarden.child import shutdown_on_sigterm
    from memwarden.hooks import REGISTRY
    from memwarden.units import parse_duration

    every_s = None if every is None else parse_duration(every, key="every")
    REGISTRY.add_shutdown(fn, every_s)
    shutdown_on_sigterm(REGISTRY)
    return fn


def snapshot(path: str | Path | None = None) -> Path:
    """Write a heap census snapshot (JSON, mode 0600) and return its path."""
    from memwarden.leak.snapshot import write_snapshot

    return write_snapshot(path)
