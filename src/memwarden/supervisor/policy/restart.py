"""Restart accounting for one program: backoff, the max-restarts window, max-age. Pure.

Every restart (memory, crash, OOM kill, age, cron, manual) counts toward max_restarts within
restart_window: PM2 lets memory restarts bypass its own limit, so a leak at start-up loops
forever. Only crashes are delayed by the backoff; a restart the supervisor asked for starts
at once.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass

from memwarden.supervisor.states import RestartReason

MAX_DOUBLINGS = 64
MAX_DELAY_S = 366 * 86400.0  # a year: any later deadline is "never" for a supervisor


@dataclass(frozen=True, slots=True)
class RestartRecord:
    time_s: float  # wall clock
    monotonic_s: float
    reason: RestartReason
    detail: str


class RestartTracker:
    def __init__(
        self,
        *,
        max_restarts: int,
        window_s: float,
        backoff_s: float,
        backoff_max_s: float,
        stable_after_s: float,
        history: int = 20,
    ) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.stable_after_s = stable_after_s
        self._in_window: deque[float] = deque()
        self.history: deque[RestartRecord] = deque(maxlen=history)
        self.total = 0
        self._quick_failures = 0

    def allow(self, now_s: float) -> bool:
        """Whether one more restart fits in the window (call before record())."""
        while self._in_window and now_s - self._in_window[0] > self.window_s:
            self._in_window.popleft()
        return len(self._in_window) < self.max_restarts

    def record(self, now_s: float, wall_s: float, reason: RestartReason,
               detail: str = "") -> None:
        self._in_window.append(now_s)
        self.history.append(RestartRecord(wall_s, now_s, reason, detail))
        self.total += 1

    def crash_delay_s(self, uptime_s: float) -> float:
        """Delay before restarting after a crash: doubled per quick crash, reset once stable."""
        if uptime_s >= self.stable_after_s:
            self._quick_failures = 0
        # 2.0 ** 1024 overflows: past MAX_DOUBLINGS the delay stops growing (it is capped anyway).
        doublings = min(self._quick_failures, MAX_DOUBLINGS)
        delay = bounded_delay_s(min(self.backoff_s * 2.0**doublings, self.backoff_max_s))
        self._quick_failures = min(self._quick_failures + 1, MAX_DOUBLINGS)
        return delay

    def note_run(self, uptime_s: float) -> None:
        """A run that ended for another reason than a crash: a stable one resets the backoff."""
        if uptime_s >= self.stable_after_s:
            self._quick_failures = 0

    def reset_window(self) -> None:
        self._in_window.clear()
        self._quick_failures = 0

    @property
    def restarts_in_window(self) -> int:
        return len(self._in_window)


def bounded_delay_s(delay_s: float) -> float:
    """A delay safe to add to a monotonic clock: within [0, MAX_DELAY_S], NaN as 0 (act now
    rather than wait for ever)."""
    if not delay_s > 0:  # NaN compares false
        return 0.0
    return min(delay_s, MAX_DELAY_S)


def age_deadline_s(started_s: float, max_age_s: float | None, jitter: float,
                   draw: float | None = None) -> float | None:
    """When a run started at started_s is restarted for age: max_age less up to jitter of it.

    draw in [0, 1) picks where in the jitter; by default from os.urandom (`random` is one
    more module for a long-lived supervisor to carry)."""
    if max_age_s is None:
        return None
    if draw is None:
        draw = int.from_bytes(os.urandom(4), "little") / 2**32
    return started_s + bounded_delay_s(max_age_s * (1.0 - jitter * draw))
