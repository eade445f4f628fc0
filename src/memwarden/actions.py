"""Actions: the only code that changes the world (collect, clean up, trim, exit)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from memwarden.hooks import HookRegistry
from memwarden.policy import Tier
from memwarden.readers.proc import self_rss_bytes
from memwarden.units import format_bytes

log = logging.getLogger("memwarden")


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str  # "gc.collect", "hook:<name>", "malloc_trim"
    freed_bytes: int | None  # RSS before - after; negative when RSS grew; None: unknown
    ok: bool
    detail: str = ""


def gave_back(freed_bytes: int | None) -> str:
    """`gave back 12.0 MiB`; RSS that grew meanwhile (other threads allocate during a gc) is
    said as such, not as a negative amount given back."""
    if freed_bytes is None or freed_bytes >= 0:
        return f"gave back {format_bytes(freed_bytes)}"
    return f"gave back nothing (RSS grew {format_bytes(-freed_bytes)} meanwhile)"


def _freed_since(before: int | None) -> int | None:
    after = self_rss_bytes()
    return None if before is None or after is None else before - after


def _measured(step: str, fn: Callable[[], object]) -> StepResult:
    before = self_rss_bytes()
    try:
        result = fn()
    except Exception as err:
        log.exception("memwarden: %s failed", step)
        return StepResult(step, _freed_since(before), False, f"{type(err).__name__}: {err}")
    return StepResult(step, _freed_since(before), True, "" if result is None else str(result))


_libc_trim: Callable[[int], int] | bool | None = False  # False: not looked up yet


def malloc_trim() -> int | None:
    """glibc's malloc_trim(0): return free heap pages to the OS. None when not glibc."""
    global _libc_trim
    if _libc_trim is False:
        _libc_trim = None
        if sys.platform.startswith("linux"):
            try:
                # The process's own symbols, not ctypes.util.find_library: that forks
                # `ldconfig -p`, a copy of a process already at critical, which a tree-RSS
                # sample then counts twice (seen: 218 MiB read as 430 MiB, a restart too early).
                libc = ctypes.CDLL(None)
                trim = libc.malloc_trim
                trim.argtypes = [ctypes.c_size_t]
                trim.restype = ctypes.c_int
                _libc_trim = trim
            except (OSError, AttributeError):  # musl (Alpine) has no malloc_trim
                _libc_trim = None
    if _libc_trim is None or _libc_trim is True:
        return None
    return int(_libc_trim(0))


def cleanup(registry: HookRegistry, tier: Tier) -> list[StepResult]:
    """gc.collect(), the registered pressure hooks, then malloc_trim; each step measured."""
    steps = [_measured("gc.collect", gc.collect)]
    for hook in registry.pressure_hooks(tier):
        steps.append(_measured(f"hook:{hook.name}", hook.run))
    trimmed = _measured("malloc_trim", malloc_trim)
    if trimmed.detail != "None":  # "None": not glibc, nothing was tried
        steps.append(trimmed)
    return steps


def run_shutdown_hooks(registry: HookRegistry) -> list[StepResult]:
    """Every shutdown hook in registration order; one that raises does not stop the others."""
    results = []
    for hook in registry.shutdown_hooks():
        try:
            hook.run()
        except Exception as err:
            log.exception("memwarden: shutdown hook %s failed", hook.name)
            results.append(StepResult(f"shutdown:{hook.name}", 0, False, str(err)))
        else:
            results.append(StepResult(f"shutdown:{hook.name}", 0, True))
    return results


def exit_process(status: int) -> None:
    """Leave now with `status`: flush logs and stdio, then _exit (other threads may hold locks)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
