"""Per-route memory attribution: RSS deltas of requests, summed per route TEMPLATE.

One request in `every` (64 by default) is measured: its route is looked up and RSS is read
before and after it (a kept `/proc/self/statm` fd: ~1 µs a read in a loop, ~10 µs between a
server's requests, whose caches are cold), and it counts for `every` requests, its delta too.
Each request has the same chance to be measured, so the sums estimate the whole traffic's; the
other requests cost one C call. Route keys are templates ("/items/{item_id}"), never raw paths;
unmatched requests share one bucket and the table is capped, so a scanner cannot grow it. With
concurrent requests a delta also holds what the others allocated meanwhile: the figures rank
routes, they are not exact.
(sys.getallocatedblocks() walks every arena, ~50 µs at 3 M objects: too slow per request.)
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

from memwarden.readers.proc import self_rss_bytes

UNMATCHED = "<unmatched>"
OTHER = "<other>"
UNREAD = -1  # a measured request whose RSS could not be read (not Linux): counted, no delta


@dataclass(slots=True)
class RouteStats:
    requests: int = 0  # estimated: each measured request stands for `every`
    measured_requests: int = 0
    net_rss_bytes: int = 0  # estimated sum of RSS deltas (growth minus what was given back)
    grown_rss_bytes: int = 0  # estimated sum of the positive deltas only
    max_rss_delta_bytes: int = 0  # the largest delta measured

    def to_json(self, route: str) -> dict[str, Any]:
        return {
            "route": route,
            "requests": self.requests,
            "measured_requests": self.measured_requests,
            "net_rss_bytes": self.net_rss_bytes,
            "grown_rss_bytes": self.grown_rss_bytes,
            "max_rss_delta_bytes": self.max_rss_delta_bytes,
        }


class Attribution:
    def __init__(self, max_routes: int = 200, every: int = 64) -> None:
        self.max_routes = max_routes
        self.every = every
        # Per request, a C call and no lock: measure this one? True once in `every`, the first
        # request included (threads racing only shift which request is measured).
        self.turns = itertools.cycle((True,) + (False,) * (every - 1))
        self._routes: dict[str, RouteStats] = {}
        self._lock = threading.Lock()

    def begin(self) -> int | None:
        """None: not measured. Else RSS before the request (UNREAD when unknown): then call
        end() with it when the request is done."""
        return self.rss_before() if next(self.turns) else None

    def rss_before(self) -> int:
        """For a request its turn chose (`turns`): its RSS before it runs."""
        rss_bytes = self_rss_bytes()
        return UNREAD if rss_bytes is None else rss_bytes

    def end(self, route: str | None, rss_before: int) -> None:
        rss_after = self_rss_bytes() if rss_before != UNREAD else None
        delta = None if rss_after is None else rss_after - rss_before
        key = route or UNMATCHED
        with self._lock:
            stats = self._routes.get(key)
            if stats is None:
                if len(self._routes) >= self.max_routes:
                    key = OTHER
                stats = self._routes.setdefault(key, RouteStats())
            stats.requests += self.every
            stats.measured_requests += 1
            if delta is None:
                return
            stats.net_rss_bytes += delta * self.every
            if delta > 0:
                stats.grown_rss_bytes += delta * self.every
                stats.max_rss_delta_bytes = max(stats.max_rss_delta_bytes, delta)

    def top(self, n: int = 10) -> list[dict[str, Any]]:
        """Routes by net growth, largest first."""
        with self._lock:
            items = [(route, RouteStats(s.requests, s.measured_requests, s.net_rss_bytes,
                                        s.grown_rss_bytes, s.max_rss_delta_bytes))
                     for route, s in self._routes.items()]
        items.sort(key=lambda item: (item[1].net_rss_bytes, item[1].grown_rss_bytes), reverse=True)
        return [stats.to_json(route) for route, stats in items[:n]]

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()
