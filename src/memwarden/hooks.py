"""Registries of user hooks: pressure cleanups and shutdown savers."""

from __future__ import annotations

import threading

from memwarden.policy import Tier
from memwarden.record import record

# Not `from typing import ...` at run time: the guardian's start loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


@record
class PressureHook:
    name: str
    run: Callable[[], object]
    tier: Tier


@record
class ShutdownHook:
    name: str
    run: Callable[[], object]
    every_s: float | None  # also run as a periodic checkpoint at this interval


def describe(target: object) -> str:
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{qualname}" if module else str(qualname)


def as_cleanup(target: object) -> Callable[[], object]:
    """A callable is called; a cache object is emptied through clear() or cache_clear()."""
    for method in ("cache_clear", "clear"):
        bound = getattr(target, method, None)
        if callable(bound):
            return bound  # type: ignore[no-any-return]
    if callable(target):
        return target
    raise TypeError(
        f"on_pressure needs a callable or an object with clear()/cache_clear(), got {target!r}"
    )


class HookRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pressure: list[PressureHook] = []
        self._shutdown: list[ShutdownHook] = []

    def add_pressure(self, target: object, tier: Tier) -> None:
        hook = PressureHook(describe(target), as_cleanup(target), tier)
        with self._lock:
            self._pressure.append(hook)

    def add_shutdown(self, fn: Callable[[], object], every_s: float | None) -> None:
        if not callable(fn):
            raise TypeError(f"on_shutdown needs a callable, got {fn!r}")
        with self._lock:
            self._shutdown.append(ShutdownHook(describe(fn), fn, every_s))

    def pressure_hooks(self, tier: Tier) -> list[PressureHook]:
        with self._lock:
            return [h for h in self._pressure if h.tier <= tier]

    def shutdown_hooks(self) -> list[ShutdownHook]:
        with self._lock:
            return list(self._shutdown)

    def clear(self) -> None:
        with self._lock:
            self._pressure.clear()
            self._shutdown.clear()


# The process-wide registry: hooks may be registered before or after start().
REGISTRY = HookRegistry()
