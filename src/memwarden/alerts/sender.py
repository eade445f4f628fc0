"""The sender: an EventBus listener that only enqueues, and one daemon thread that posts.

The listener takes a lock for a few microseconds and returns: a receiver that is down, slow or
rate-limiting costs the app nothing. The queue is bounded (oldest or newest dropped when full,
counted); every request has a timeout; a 429's Retry-After pauses that target, not the others.
A refused connection, a timeout or a 5xx pauses the target too, for a bounded, jittered,
doubling backoff, and the alert is tried again up to `retries` times before it is given up.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memwarden.alerts.book import AlertBook
from memwarden.alerts.config import MAX_BACKOFF_S, AlertsConfig
from memwarden.alerts.payload import (
    Alert,
    alertmanager_endpoint,
    alertmanager_payload,
    webhook_body,
)
from memwarden.events import Event

if TYPE_CHECKING:
    from memwarden.alerts.http import Poster

log = logging.getLogger("memwarden")
MAX_RATE_LIMITED = 5  # 429 answers honoured per item before it is given up
DEFAULT_RETRY_AFTER_S = 5.0  # a 429 without a usable Retry-After
MAX_RETRY_AFTER_S = 600.0  # a receiver asking for an hour is not honoured past ten minutes
FAILURE_LOG_INTERVAL_S = 60.0
EXIT_FLUSH_S = 2.0  # the longest a guardian's exit waits for its restart alert


@dataclass(slots=True)
class Target:
    name: str  # "webhook" or "alertmanager"
    url: str
    format: str
    blocked_until_s: float = 0.0  # monotonic; set from 429 Retry-After
    logged_at_s: float | None = None  # last failure logged (monotonic)
    unlogged_failures: int = 0  # failures since, not logged: a dead receiver is one line a minute


@dataclass(slots=True)
class _Item:
    target: Target
    alerts: list[Alert]
    rate_limited: int = 0  # 429 answers so far
    failures: int = 0  # refused, timed out or 5xx so far


class AlertSender:
    def __init__(self, config: AlertsConfig) -> None:
        self.config = config
        self.targets: list[Target] = []
        if config.url is not None:
            self.targets.append(Target("webhook", config.url, config.format))
        if config.alertmanager_url is not None:
            endpoint = alertmanager_endpoint(config.alertmanager_url)
            self.targets.append(Target("alertmanager", endpoint, "alertmanager"))
        self._book = AlertBook(config)
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._counts: Counter[str] = Counter()
        self._in_flight = False
        self._stopping = False
        self._stop_deadline_s = float("inf")  # after close()'s timeout, what is queued is dropped
        self._next_resend_s = time.monotonic() + config.resend_interval_s
        self._thread: threading.Thread | None = None

    # -- the app side: never blocks, never raises ---------------------------------------------
    def __call__(self, event: Event) -> None:
        try:
            with self._cond:
                alerts = self._book.on_event(event, time.time())
                for alert in alerts:
                    for target in self.targets:
                        self._enqueue(_Item(target, [alert]))
                self._cond.notify()
        except Exception:  # an alert bug must never reach the app or the supervisor
            log.exception("memwarden: alerts: could not queue %s event", event.kind)
            return
        if event.kind == "restart" and event.source == "guardian":
            # The in-process guardian publishes this from its own thread right before the
            # process exits (os._exit): give the alert a bounded moment to leave first.
            self.flush(min(self.config.timeout_s, EXIT_FLUSH_S))

    def _enqueue(self, item: _Item) -> None:
        self._counts["queued"] += 1
        if len(self._queue) >= self.config.queue_size:
            self._counts["dropped"] += 1
            if self.config.overflow == "drop_newest":
                return
            self._queue.popleft()
        self._queue.append(item)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> AlertSender:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="memwarden-alerts", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread after it sent what is queued and not rate-limited, within timeout_s."""
        with self._cond:
            self._stopping = True
            self._stop_deadline_s = time.monotonic() + timeout_s
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def flush(self, timeout_s: float) -> bool:
        """Wait until the queue is empty and nothing is in flight; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stats(self) -> dict[str, int]:
        """queued, sent, failed (never delivered), given_up (failed after every retry),
        dropped (queue full), retried (tries after a 429, 5xx, refusal or timeout),
        deduplicated, suppressed (cooldown), pending."""
        with self._cond:
            counts = dict(self._counts)
            counts["deduplicated"] = self._book.deduplicated
            counts["suppressed"] = self._book.suppressed
            counts["pending"] = len(self._queue)
        for key in ("queued", "sent", "failed", "given_up", "dropped", "retried"):
            counts.setdefault(key, 0)
        return counts

    def _count(self, key: str) -> None:
        with self._cond:
            self._counts[key] += 1

    # -- the worker thread ---------------------------------------------------------------------
    def _run(self) -> None:
        from memwarden.alerts.http import Poster

        poster = Poster()
        try:
            self._loop(poster)
        finally:
            poster.close()

    def _loop(self, poster: Poster) -> None:
        while True:
            item = self._next_item()
            if item is None:
                return
            try:
                self._send(item, poster)
            except Exception:
                log.exception("memwarden: alerts: sending to %s failed", item.target.name)
                self._count("failed")
            finally:
                with self._cond:
                    self._in_flight = False
                    self._cond.notify_all()

    def _next_item(self) -> _Item | None:
        with self._cond:
            while True:
                now_s = time.monotonic()
                if self._stopping and now_s >= self._stop_deadline_s:
                    return None
                ready = [i for i in self._queue if i.target.blocked_until_s <= now_s]
                if ready:
                    self._queue.remove(ready[0])
                    self._in_flight = True
                    return ready[0]
                if self._stopping:
                    return None
                if now_s >= self._next_resend_s:
                    self._resend_firing()
                    continue
                wake_s = [self._next_resend_s, *(i.target.blocked_until_s for i in self._queue)]
                self._cond.wait(max(0.01, min(wake_s) - now_s))

    def _resend_firing(self) -> None:
        # Alertmanager forgets an alert without endsAt after resolve_timeout: re-post while firing.
        self._next_resend_s = time.monotonic() + self.config.resend_interval_s
        firing = self._book.firing()
        if not firing:
            return
        for target in self.targets:
            if target.format == "alertmanager":
                self._enqueue(_Item(target, firing))

    def _send(self, item: _Item, poster: Poster) -> None:
        target = item.target
        body = (alertmanager_payload(item.alerts) if target.format == "alertmanager"
                else webhook_body(item.alerts[0], target.format))
        result = poster.post_json(target.url, body, timeout_s=self.config.timeout_s)
        if result.ok:
            self._count("sent")
            return
        wait_s = self._retry_delay_s(item, result.status, result.retry_after_s)
        if wait_s is not None:
            with self._cond:
                # The whole target waits: a receiver that is down or overloaded is not
                # hammered with the alerts queued behind this one.
                target.blocked_until_s = time.monotonic() + wait_s
                self._queue.appendleft(item)
                self._counts["retried"] += 1
            self._log_failure(item, result.status, result.error,
                              f"retry {item.rate_limited + item.failures} in {wait_s:.1f}s")
            return
        self._count("failed")
        retryable = result.status is None or result.status >= 500 or result.status == 429
        if retryable:
            self._count("given_up")
        self._log_failure(item, result.status, result.error,
                          "given up after every retry" if retryable else "not retried")

    def _retry_delay_s(self, item: _Item, status: int | None,
                       retry_after_s: float | None) -> float | None:
        """Seconds until the next try of item, or None when it is not tried again."""
        if status == 429:
            item.rate_limited += 1
            if item.rate_limited >= MAX_RATE_LIMITED:
                return None
            return min(retry_after_s if retry_after_s is not None else DEFAULT_RETRY_AFTER_S,
                       MAX_RETRY_AFTER_S)
        if status is not None and status < 500:
            return None  # 4xx: the request itself is wrong, sending it again will not help
        item.failures += 1
        if item.failures > self.config.retries:
            return None
        return backoff_s(self.config.retry_backoff_s, item.failures)

    def _log_failure(self, item: _Item, status: int | None, error: str, outcome: str) -> None:
        """One line a minute per target at most: a dead receiver must not flood the log."""
        target = item.target
        now_s = time.monotonic()
        if target.logged_at_s is not None and now_s - target.logged_at_s < FAILURE_LOG_INTERVAL_S:
            target.unlogged_failures += 1
            return
        log.warning(
            "memwarden: alerts: %s alert to %s failed: %s, %s%s",
            item.alerts[0].name,
            target.name,
            f"HTTP {status}" if status is not None else error,
            outcome,
            f" (and {target.unlogged_failures} more failures since the last report)"
            if target.unlogged_failures else "",
        )
        target.logged_at_s = now_s
        target.unlogged_failures = 0


def backoff_s(first_s: float, failures: int) -> float:
    """The wait before try failures+1: first_s doubled per failure, capped at MAX_BACKOFF_S,
    times a random factor in [0.5, 1) so that many processes do not retry in step."""
    exponent = min(max(failures - 1, 0), 32)  # bounded: 2.0 ** 1024 would overflow
    return min(first_s * 2.0 ** exponent, MAX_BACKOFF_S) * random.uniform(0.5, 1.0)
