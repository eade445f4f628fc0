"""Load generator: paced GETs from a pool of threads on 127.0.0.1, bounded in count and time."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

THREADS = 32
TIMEOUT_S = 2.0


@dataclass
class LoadStats:
    total: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    # failure kind ("ConnectionRefusedError", "TimeoutError", "HTTP 503", ...) -> count
    kinds: dict[str, int] = field(default_factory=dict)
    # (CLOCK_MONOTONIC s when the request started, kind): comparable with the markers' "t"
    failures: list[tuple[float, str]] = field(default_factory=list)

    def write_failures(self, path: Path) -> None:
        """One JSON line per failed request, for lining up with the markers of a run."""
        with path.open("w", encoding="utf-8") as out:
            for started_s, kind in self.failures:
                out.write(json.dumps({"t": started_s, "kind": kind}) + "\n")


def drive(url: str, *, rate_per_s: float, time_cap_s: float,
          done: Callable[[], bool]) -> LoadStats:
    """Request i is due at start + i / rate; every request counts, failures included."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stats = LoadStats()
    lock = threading.Lock()
    stop = threading.Event()
    next_index = 0
    start_s = time.monotonic()

    def one_request() -> str | None:
        """None when answered 200, else the kind of failure."""
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        try:
            connection.request("GET", parts.path or "/")
            response = connection.getresponse()
            response.read()
            return None if response.status == 200 else f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as err:
            return type(err).__name__
        finally:
            connection.close()

    def worker() -> None:
        nonlocal next_index
        while not stop.is_set():
            with lock:
                index = next_index
                next_index += 1
            stop.wait(max(0.0, start_s + index / rate_per_s - time.monotonic()))
            if stop.is_set():
                return
            request_s = time.monotonic()
            failure = one_request()
            with lock:
                stats.total += 1
                if failure is not None:
                    stats.failed += 1
                    stats.kinds[failure] = stats.kinds.get(failure, 0) + 1
                    stats.failures.append((request_s, failure))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    while not done() and time.monotonic() - start_s < time_cap_s:
        stop.wait(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S + 5)
    stats.elapsed_s = time.monotonic() - start_s
    return stats
