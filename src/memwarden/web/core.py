"""The Warden: one per app, shared by every integration (ASGI, WSGI, Flask, Django).

It owns the config, the endpoints, the shedder, the route attribution and the metrics; the
adapters only translate their framework's request and response into these calls.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Unpack

from memwarden.web.attribution import UNREAD, Attribution
from memwarden.web.config import WebConfig, WebOptions
from memwarden.web.endpoints import Endpoints
from memwarden.web.metrics import WebMetrics
from memwarden.web.shedding import Shedder

if TYPE_CHECKING:
    from memwarden.guardian import Guardian

log = logging.getLogger("memwarden")


def _unread() -> int:
    return UNREAD


class Warden:
    def __init__(self, config: WebConfig | None = None, **options: Unpack[WebOptions]) -> None:
        from memwarden.settings import load

        # Read once: the same settings configure the web layer and the guardian it starts.
        self.settings = load()
        self.config = config if config is not None else self.settings.web(options)
        self.attribution = (Attribution(self.config.max_routes, self.config.attribution_every)
                            if self.config.attribution else None)
        # For a request measure_due() chose: its RSS before it runs (then finish() with it).
        self.rss_before: Callable[[], int] = (self.attribution.rss_before
                                              if self.attribution is not None else _unread)
        self.max_body_bytes = self.config.max_body_bytes  # read per request
        self.shedder = Shedder(self.config, on_shed=self._count_shed)
        # Per request: None, serve it (then begin() and finish()); else the 503/413 to send
        # instead. Our endpoints never come here (adapters answer them first): never shed.
        self.admit = self.shedder.admit  # bound once: no wrapper frame on the hot path
        # After an admitted request that was not measured: release() unless the path is
        # exempt (exempt requests are never counted).
        self.release = self.shedder.release
        self.exempt = self.shedder.exempt
        self.endpoints = Endpoints(self)
        # What the ASGI middleware's short path reads per request, side by side. lean:
        # started, no cap and no metrics work per request. own_paths: our endpoints and the
        # exempt paths. admin_mark: a path holding it may be an admin POST (the full path
        # tells). turns: the attribution's cycle (never True without attribution). flight:
        # the shedder's requests in flight (append when admitted, pop when done).
        self.lean = False
        self.own_paths = frozenset(self.endpoints.paths if self.endpoints.enabled else ()
                                   ) | self.exempt
        self.admin_mark = self.endpoints.admin_prefix if self.endpoints.enabled else "\0"
        self.turns: Iterator[bool] = (self.attribution.turns if self.attribution is not None
                                      else itertools.repeat(False))
        self._attribution_due: Callable[[], bool] = self.turns.__next__
        self.flight = self.shedder.flight
        self._metrics: WebMetrics | None = None
        self._metrics_tried = not self.config.metrics
        # Called per request while not None: sets the metrics up on the first request, then
        # refreshes them per request only while no guardian does it after its samples.
        self._metrics_hook: Callable[[], None] | None = None
        # Per request, after admit(): measure this one? Once the metrics need nothing per
        # request, the attribution's own turn (a C call).
        self.measure_due: Callable[[], bool] = self._attribution_due
        self._metrics_refreshed_s = -math.inf
        if self.config.start_guardian:
            # Bad MEMWARDEN_* settings fail here, at app start-up, not on the first request
            # (WSGI servers start the guardian lazily, after the fork).
            self.settings.guard()
            self.settings.leak()
            self.settings.alerts()

        # Per worker process: a forked worker (gunicorn --preload) starts its own guardian.
        # A fork hook, not os.getpid() per request (~0.4 µs on the hot path).
        self.started = False
        forked = weakref.WeakMethod(self._forked)

        def after_fork() -> None:
            method = forked()
            if method is not None:
                method()

        os.register_at_fork(after_in_child=after_fork)

    def _forked(self) -> None:
        self.started = False
        self._set_metrics_hook(self._setup_metrics if self.config.metrics else None)

    def _set_metrics_hook(self, hook: Callable[[], None] | None) -> None:
        self._metrics_hook = hook
        self.measure_due = self._attribution_due if hook is None else self._hook_then_due
        self._update_lean()

    def _update_lean(self) -> None:
        self.lean = (self.started and self._metrics_hook is None
                     and self.config.max_concurrency is None)

    def _hook_then_due(self) -> bool:
        hook = self._metrics_hook
        if hook is not None:
            hook()
        return self._attribution_due()

    def start_guardian(self) -> None:
        """Once per worker process (adapters call it while `started` is False)."""
        self._set_metrics_hook(self._setup_metrics if self.config.metrics else None)
        if self.config.start_guardian:
            import memwarden

            # Idempotent: two threads racing here start one guardian.
            self._follow(memwarden.start(settings=self.settings))
        self.started = True
        self._update_lean()

    def metrics(self) -> WebMetrics | None:
        if not self.config.metrics:
            return None
        if not self._metrics_tried:
            from memwarden.web.metrics import get_metrics

            self._metrics_tried = True
            self._metrics = get_metrics()
        return self._metrics

    def _follow(self, guardian: Guardian) -> None:
        """The guardian's samples refresh the metrics from now on: requests do not."""
        metrics = self.metrics()
        if metrics is not None:
            metrics.follow(guardian, self._in_flight)
        self._set_metrics_hook(None)

    def _in_flight(self) -> int:
        return self.shedder.in_flight

    def _setup_metrics(self) -> None:
        self._set_metrics_hook(self._refresh_metrics if self.metrics() is not None else None)
        self._refresh_metrics()

    def _refresh_metrics(self) -> None:
        """No guardian of ours: per request, at most once per interval, until one runs."""
        metrics = self._metrics
        now_s = time.monotonic()
        if metrics is None or now_s - self._metrics_refreshed_s < metrics.refresh_interval_s:
            return
        self._metrics_refreshed_s = now_s
        from memwarden.web.state import running_guardian

        guardian = running_guardian()
        if guardian is not None and guardian.running:
            self._follow(guardian)
        else:
            metrics.refresh(self.shedder.in_flight)

    # -- per request ----------------------------------------------------------------------------
    def begin(self) -> int | None:
        """After admit(): None, or the mark of a measured request (for finish())."""
        return self.rss_before() if self.measure_due() else None

    def finish(self, path: str, route: str | None, mark: int | None) -> None:
        """After begin(): route matters only when mark is not None (a measured request)."""
        if path not in self.exempt:
            self.release()
        if mark is not None and self.attribution is not None:
            self.attribution.end(route, mark)

    def top_routes(self) -> list[dict[str, Any]]:
        if self.attribution is None:
            return []
        return self.attribution.top(self.config.top_routes)

    def _count_shed(self, reason: str) -> None:
        metrics = self.metrics()
        if metrics is not None:
            metrics.count_shed(reason)
