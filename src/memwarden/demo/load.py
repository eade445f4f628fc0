"""The demo's load: webhook senders that behave like a good client or load balancer.

A request that gets 503 waits its Retry-After and tries again; a refused or dropped connection
(the service restarting) is retried after a short backoff. A request counts as *failed* only
when it never succeeded within its retry budget; retries are counted separately, by reason.
Event ids are unique per request, so a retry is idempotent (the service deduplicates them).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field

CONNECT_BACKOFF_S = 0.1
MAX_RETRY_AFTER_S = 5.0
TIMEOUT_S = 10.0


@dataclass(slots=True)
class LoadStats:
    sent: int = 0  # logical requests started
    ok: int = 0
    failed: int = 0
    shed: int = 0  # 503 answers (retried)
    refused: int = 0  # connection refused / reset / dropped (retried)
    other: int = 0  # unexpected statuses (retried)
    latencies_s: list[float] = field(default_factory=list)

    @property
    def retries(self) -> int:
        return self.shed + self.refused + self.other


class LoadClient:
    def __init__(self, port: int, *, senders: int, requests_per_s: float, ids_per_request: int,
                 id_bytes: int, retry_budget_s: float = 60.0) -> None:
        self.port = port
        self.senders = senders
        self.interval_s = senders / requests_per_s  # per sender
        self.ids_per_request = ids_per_request
        self.pad = "x" * max(0, id_bytes - 40)
        self.retry_budget_s = retry_budget_s
        self.stats = LoadStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()  # no new requests; ones in progress keep retrying
        self._abort = threading.Event()  # give up at once (Ctrl-C)
        self._threads: list[threading.Thread] = []

    def start(self) -> LoadClient:
        for index in range(self.senders):
            thread = threading.Thread(target=self._run, args=(f"sender-{index}",),
                                      name=f"demo-load-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout_s: float = 30.0, *, abort: bool = False) -> None:
        """Stop starting requests and wait for the ones in progress (they finish or fail)."""
        self._stop.set()
        if abort:
            self._abort.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def snapshot(self) -> LoadStats:
        with self._lock:
            s = self.stats
            return LoadStats(s.sent, s.ok, s.failed, s.shed, s.refused, s.other,
                             list(s.latencies_s))

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _run(self, sender: str) -> None:
        serial = 0
        next_s = time.monotonic()
        while not self._stop.is_set():
            ids = [f"{sender}:{serial + i:012d}:{self.pad}" for i in range(self.ids_per_request)]
            serial += self.ids_per_request
            body = json.dumps({"sender": sender, "ids": ids}).encode()
            self._count("sent")
            self.send(body)
            next_s = max(next_s + self.interval_s, time.monotonic() - self.interval_s)
            self._stop.wait(max(0.0, next_s - time.monotonic()))

    def send(self, body: bytes) -> None:
        """One logical request: retried until it succeeds or its budget runs out."""
        started = time.monotonic()
        while True:
            wait_s = CONNECT_BACKOFF_S
            try:
                status, retry_after = self._post(body)
            except (ConnectionError, http.client.HTTPException, TimeoutError, OSError):
                self._count("refused")
            else:
                if status == 200:
                    with self._lock:
                        self.stats.ok += 1
                        self.stats.latencies_s.append(time.monotonic() - started)
                    return
                self._count("shed" if status == 503 else "other")
                if retry_after is not None:
                    wait_s = min(retry_after, MAX_RETRY_AFTER_S)
            if time.monotonic() + wait_s - started > self.retry_budget_s or self._abort.is_set():
                self._count("failed")
                return
            self._abort.wait(wait_s)

    def _post(self, body: bytes) -> tuple[int, float | None]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            conn.request("POST", "/events", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            header = response.getheader("Retry-After")
            retry_after = float(header) if header and header.strip().isdigit() else None
            return response.status, retry_after
        finally:
            conn.close()
