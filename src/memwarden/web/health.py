"""Health documents per the `application/health+json` draft (draft-inadarei-api-health-check)
and the registry of user checks (database, Redis, a bot's session) that count toward /ready."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from memwarden.policy import Tier

if TYPE_CHECKING:
    from memwarden.guardian import GuardianStatus

HEALTH_CONTENT_TYPE = "application/health+json"
STATUSES = ("pass", "warn", "fail")  # in rising severity
CheckFn = Callable[[], Any]  # sync or async; see CheckRegistry.add


def iso_time(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).isoformat().replace("+00:00", "Z")


def worst(statuses: list[str]) -> str:
    return max(statuses, key=STATUSES.index, default="pass")


@dataclass(frozen=True, slots=True)
class UserCheck:
    name: str
    fn: CheckFn
    timeout_s: float


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: str
    time_s: float
    duration_s: float
    output: str | None = None
    extra: dict[str, Any] | None = None

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = dict(self.extra or {})
        entry.update(status=self.status, time=iso_time(self.time_s))
        if "observedValue" not in entry:  # the check's own figure wins over its response time
            entry.update(observedValue=round(self.duration_s * 1000, 3), observedUnit="ms")
        if self.output:
            entry["output"] = self.output
        return entry


class CheckRegistry:
    def __init__(self) -> None:
        self._checks: dict[str, UserCheck] = {}
        self._lock = threading.Lock()

    def add(self, name: str, fn: CheckFn, timeout: float = 1.0) -> None:
        """fn() (or `await fn()`) returns None/True (pass), False (fail), "pass"/"warn"/"fail",
        or a dict of health+json fields (its "status" defaults to pass); raising is a fail."""
        if not name or not callable(fn):
            raise ValueError(f"add_check needs a name and a callable, got {name!r}, {fn!r}")
        if timeout <= 0:
            raise ValueError(f"check {name!r}: timeout must be above 0, got {timeout!r}")
        with self._lock:
            self._checks[name] = UserCheck(name, fn, float(timeout))

    def remove(self, name: str) -> None:
        with self._lock:
            self._checks.pop(name, None)

    def checks(self) -> list[UserCheck]:
        with self._lock:
            return list(self._checks.values())


CHECKS = CheckRegistry()


def _interpret(check: UserCheck, value: Any, started_s: float, duration_s: float) -> CheckResult:
    if value is None or value is True:
        return CheckResult(check.name, "pass", started_s, duration_s)
    if value is False:
        return CheckResult(check.name, "fail", started_s, duration_s, "check returned False")
    if isinstance(value, str) and value in STATUSES:
        return CheckResult(check.name, value, started_s, duration_s)
    if isinstance(value, dict):
        status = value.get("status", "pass")
        if status not in STATUSES:
            return CheckResult(check.name, "fail", started_s, duration_s,
                               f"check returned status {status!r}")
        extra = {str(k): v for k, v in value.items() if k != "status"}
        return CheckResult(check.name, str(status), started_s, duration_s, None, extra)
    return CheckResult(check.name, "fail", started_s, duration_s,
                       f"check returned {type(value).__name__}, expected bool/str/dict/None")


def _failed(check: UserCheck, err: BaseException, started_s: float,
            duration_s: float) -> CheckResult:
    if isinstance(err, (TimeoutError, FutureTimeout)):
        output = f"timed out after {check.timeout_s:g}s"
    else:
        output = f"{type(err).__name__}: {err}"
    return CheckResult(check.name, "fail", started_s, duration_s, output)


def _call_blocking(fn: CheckFn) -> Any:
    value = fn()
    if inspect.isawaitable(value):
        return asyncio.run(_awaited(value))
    return value


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    # Created lazily (after a gunicorn fork, never before); a hung check keeps one thread busy.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="memwarden-check")
        return _executor


def run_checks_blocking(registry: CheckRegistry = CHECKS) -> list[CheckResult]:
    """Run every check concurrently in threads (WSGI servers); each bounded by its timeout."""
    checks = registry.checks()
    started = time.time()
    t0 = time.monotonic()
    futures = [(check, _pool().submit(_call_blocking, check.fn)) for check in checks]
    results = []
    for check, future in futures:
        remaining_s = max(0.0, t0 + check.timeout_s - time.monotonic())
        try:
            value = future.result(timeout=remaining_s)
        except Exception as err:
            results.append(_failed(check, err, started, time.monotonic() - t0))
            continue
        results.append(_interpret(check, value, started, time.monotonic() - t0))
    return results


async def _run_one_async(check: UserCheck) -> CheckResult:
    started, t0 = time.time(), time.monotonic()
    try:
        if inspect.iscoroutinefunction(check.fn):
            value = await asyncio.wait_for(check.fn(), check.timeout_s)
        else:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(_pool(), _call_blocking, check.fn)
            value = await asyncio.wait_for(future, check.timeout_s)
    except Exception as err:
        return _failed(check, err, started, time.monotonic() - t0)
    return _interpret(check, value, started, time.monotonic() - t0)


async def run_checks_async(registry: CheckRegistry = CHECKS) -> list[CheckResult]:
    """Async checks run on the event loop, sync ones in threads, all concurrently."""
    return list(await asyncio.gather(*(_run_one_async(c) for c in registry.checks())))


def memory_check(status: GuardianStatus, fail_at: Tier) -> dict[str, Any]:
    """The `memory:utilization` entry: fails at `fail_at`, warns from `warn` up to it."""
    tier = status.tier
    word = "fail" if tier >= fail_at else "warn" if tier >= Tier.WARN else "pass"
    ratio = status.sample.usage_ratio
    entry: dict[str, Any] = {
        "componentType": "system",
        "observedValue": None if ratio is None else round(ratio * 100, 3),
        "observedUnit": "percent",
        "status": word,
        "time": iso_time(status.sample.time_s),
        "output": f"tier {tier.label}",
    }
    return entry


def health_document(
    status: GuardianStatus, *, fail_at: Tier, results: list[CheckResult] | None = None,
    description: str = "memwarden",
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 503 when the overall status is fail, else 200 (warn is served)."""
    checks: dict[str, list[dict[str, Any]]] = {
        "memory:utilization": [memory_check(status, fail_at)]
    }
    for result in results or []:
        checks.setdefault(result.name, []).append(result.entry())
    overall = worst([entry["status"] for entries in checks.values() for entry in entries])
    body = {"status": overall, "description": description, "checks": checks}
    return (503 if overall == "fail" else 200), body
