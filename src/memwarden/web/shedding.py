"""Load shedding (Envoy's overload manager, for Python): under `critical` new requests get 503
+ Retry-After, health paths are exempt, requests already in flight finish. Optional caps on
concurrent requests and on request body size protect memory before it runs out."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from memwarden import guardian as _guardian_module
from memwarden.events import Event, EventKind
from memwarden.policy import Tier
from memwarden.web.config import WebConfig
from memwarden.web.http import Response, error_response

SHED_REASONS = ("memory", "concurrency", "body_size")


# The running guardian's tier; None without one (then nothing is shed for memory).
current_tier = _guardian_module.current_tier
CRITICAL = Tier.CRITICAL


class Shedder:
    def __init__(self, config: WebConfig, *, on_shed: Callable[[str], None] | None = None,
                 tier_source: Callable[[], Tier | None] = current_tier) -> None:
        self.config = config
        self.exempt = frozenset(config.exempt_paths)
        self._on_shed = on_shed
        self._tier_source = tier_source
        self._lock = threading.Lock()
        # One entry per request in flight: append() when admitted, pop() when done. Both are
        # single C calls, atomic under the GIL, and len() is the exact count: no lock, no
        # integer made and (a deque, unlike a list going 0-1-0) no memory allocated per request.
        self.flight: deque[None] = deque()
        self.shed_counts = dict.fromkeys(SHED_REASONS, 0)
        self._shedding_since_s: float | None = None
        self.shedding = False  # _shedding_since_s is not None, as one cheap read
        # Read per request: plain attributes, not config lookups.
        self._shed = config.shed
        self._max_body_bytes = config.max_body_bytes
        self._max_concurrency = config.max_concurrency
        self._retry_after = (("retry-after", str(config.retry_after_s)),)

    def admit(self, path: str, content_length: int | None) -> Response | None:
        """None: go ahead (call release() when done). Otherwise the response to send instead."""
        if path in self.exempt:
            return None  # exempt requests are not counted: release() must not be called
        # Per request one call and a comparison; a tier at critical, or the end of shedding,
        # takes the slow path.
        if self._shed and ((self._tier_source() or 0) >= CRITICAL or self.shedding):
            rejection = self._memory_check()
            if rejection is not None:
                return rejection
        max_body = self._max_body_bytes
        if content_length is not None and max_body is not None and content_length > max_body:
            return self._reject("body_size", 413, f"request body above {max_body} bytes")
        cap = self._max_concurrency
        if cap is None:
            self.flight.append(None)
            return None
        with self._lock:  # check and count as one step; release() only lowers the figure
            if len(self.flight) < cap:
                self.flight.append(None)
                return None
        return self._reject("concurrency", 503, "too many requests in flight: retry later")

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet released."""
        return len(self.flight)

    def release(self) -> None:
        """After an admitted request (not an exempt one)."""
        try:  # noqa: SIM105 (per request: a try is free, contextlib.suppress is not)
            self.flight.pop()
        except IndexError:  # released twice (a server closing a response twice): stay at 0
            pass

    def _memory_check(self) -> Response | None:
        tier = self._tier_source()
        critical = tier is not None and tier >= CRITICAL
        if critical is not self.shedding:  # a change: publish it
            self._track_memory_shedding(critical, tier)
        if critical:
            return self._reject("memory", 503, "memory is critical: retry later")
        return None

    def count_body_rejection(self) -> Response:
        """A streamed body ran over max_body_bytes after the request was admitted."""
        limit = self.config.max_body_bytes
        return self._reject("body_size", 413, f"request body above {limit} bytes")

    def _reject(self, reason: str, status: int, message: str) -> Response:
        with self._lock:
            self.shed_counts[reason] += 1
        if self._on_shed is not None:
            self._on_shed(reason)
        headers = self._retry_after if status == 503 else ()
        return error_response(status, message, headers=headers)

    def _track_memory_shedding(self, critical: bool, tier: Tier | None) -> None:
        """Publish a `shed` event when shedding starts and when it ends (transitions only)."""
        with self._lock:
            if critical == (self._shedding_since_s is not None):
                return  # another thread saw the transition first
            now_s = time.time()
            self.shedding = critical
            if critical:
                self._shedding_since_s = now_s
                message = "load shedding on: memory critical, new requests get 503"
                figures: dict[str, object] = {"state": "on"}
            else:
                since = self._shedding_since_s or now_s
                self._shedding_since_s = None
                message = f"load shedding off after {now_s - since:.1f}s"
                figures = {"state": "off", "duration_s": round(now_s - since, 3),
                           "shed_requests": self.shed_counts["memory"]}
        _publish(Event(kind=EventKind.SHED, time_s=now_s, message=message,
                       tier=tier.label if tier is not None else None, source="web",
                       figures=figures))


def _publish(event: Event) -> None:
    running = _guardian_module.current()
    if running is not None:
        running.events.publish(event)
