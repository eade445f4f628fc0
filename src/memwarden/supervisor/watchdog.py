"""Watchdog: restart a program that hangs (HTTP liveness probe, or sd_notify WATCHDOG=1).

Both report a `Hung(reason="watchdog", detail=...)` verdict; the loop then calls
`request_restart(name, "watchdog", detail, ...)`.

- `HealthProbe`: like a Kubernetes liveness probe (interval, timeout, failure threshold, start
  period). Probes run in one small worker thread (a blocking http.client request with a
  timeout must never stall the loop); each result wakes the loop through a pipe: register
  `probe.fileno()`, in the callback `probe.drain()` then `probe.verdict()`. `probe.reset()`
  when a new generation starts.
- `NotifySocket`: an AF_UNIX datagram socket per program; the child gets NOTIFY_SOCKET and
  WATCHDOG_USEC (`notify.env()`), sends READY=1 / WATCHDOG=1 / STOPPING=1 / STATUS=...,
  WATCHDOG_USEC=n (change the timeout), WATCHDOG=trigger (hung now). Register `fileno()`, call
  `drain()` when readable, and `verdict(now)` at `next_deadline_s()` (a loop timer).
- The child side (sd_notify(3)) is `memwarden.notify_ready()` / `notify_watchdog()`
  (memwarden.child); `sd_notify` here is the same function, kept for older imports.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from memwarden.child import notify
from memwarden.errors import ConfigError

sd_notify = notify  # the child side lives in memwarden.child; kept for older imports


@dataclass(frozen=True, slots=True)
class Hung:
    reason: str  # always "watchdog": the restart reason the loop logs
    detail: str


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    url: str
    interval_s: float = 10.0
    timeout_s: float = 1.0
    failure_threshold: int = 3
    start_period_s: float = 0.0  # failures before the first success in this period don't count


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    detail: str  # "200", "timed out after 1s", "connection refused"
    time_s: float  # monotonic


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("health_url", url, "expected http://HOST[:PORT]/PATH")


def probe_once(url: str, timeout_s: float) -> ProbeResult:
    """One GET: 200-399 passes, as in Kubernetes; anything else fails with a reason."""
    _check_url(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    conn_type = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = conn_type(parts.hostname or "", parts.port, timeout=timeout_s)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", path, headers={"User-Agent": "memwarden-watchdog"})
        status = conn.getresponse().status
    except TimeoutError:
        return ProbeResult(False, f"timed out after {timeout_s:g}s", time.monotonic())
    except (OSError, http.client.HTTPException) as err:
        return ProbeResult(False, str(err) or type(err).__name__, time.monotonic())
    finally:
        conn.close()
    return ProbeResult(200 <= status < 400, f"HTTP {status}", time.monotonic())


class HealthProbe:
    """Periodic probes in a worker thread; results arrive through a pipe the loop selects on."""

    def __init__(self, config: ProbeConfig) -> None:
        _check_url(config.url)
        self.config = config
        self._results: deque[ProbeResult] = deque(maxlen=64)
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_s = time.monotonic()
        self._succeeded = False
        self._failures: list[ProbeResult] = []

    def start(self) -> HealthProbe:
        self._thread = threading.Thread(target=self._run, name="memwarden-probe", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        # The first probe waits one interval: a program just spawned is not listening yet.
        while not self._stop.wait(self.config.interval_s):
            result = probe_once(self.config.url, self.config.timeout_s)
            with self._lock:
                self._results.append(result)
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"!")

    def fileno(self) -> int:
        return self._wake_r

    def reset(self) -> None:
        """A new generation: the start period begins again, failures are forgotten."""
        with self._lock:
            self._results.clear()
            self._started_s = time.monotonic()
            self._succeeded = False
            self._failures = []

    def drain(self) -> list[ProbeResult]:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)
        with self._lock:
            results = list(self._results)
            self._results.clear()
            for result in results:
                if result.ok:
                    self._succeeded = True
                    self._failures = []
                    continue
                in_start_period = result.time_s - self._started_s <= self.config.start_period_s
                if self._succeeded or not in_start_period:
                    self._failures.append(result)
        return results

    @property
    def passed(self) -> bool:
        """A probe passed since the last reset(): the generation is ready for traffic."""
        with self._lock:
            return self._succeeded

    def verdict(self) -> Hung | None:
        with self._lock:
            failures = list(self._failures)
        if len(failures) < self.config.failure_threshold:
            return None
        return Hung(
            "watchdog",
            f"{len(failures)} consecutive health probes of {self.config.url} failed "
            f"(last: {failures[-1].detail})",
        )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.config.timeout_s + 5.0)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class NotifySocket:
    """The supervisor's end of sd_notify for one program (bind it in a 0700 directory)."""

    def __init__(self, path: Path, *, watchdog_s: float | None = None) -> None:
        self.path = Path(path)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.bind(str(self.path))
        self._sock.setblocking(False)
        self.watchdog_s = watchdog_s
        self.ready = False
        self.stopping = False
        self.status = ""
        self._last_ping_s = time.monotonic()
        self._triggered = False

    def env(self) -> dict[str, str]:
        env = {"NOTIFY_SOCKET": str(self.path)}
        if self.watchdog_s is not None:
            env["WATCHDOG_USEC"] = str(int(self.watchdog_s * 1_000_000))
        return env

    def fileno(self) -> int:
        return self._sock.fileno()

    def reset(self) -> None:
        """A new generation: it has one watchdog period from now to send WATCHDOG=1 or READY=1."""
        self.ready = self.stopping = self._triggered = False
        self.status = ""
        self._last_ping_s = time.monotonic()

    def drain(self) -> list[dict[str, str]]:
        """Read every pending datagram; each is a dict of its KEY=VALUE lines."""
        messages: list[dict[str, str]] = []
        while True:
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                return messages
            fields = dict(
                line.partition("=")[::2] for line in data.decode("utf-8", "replace").splitlines()
            )
            messages.append(fields)
            self._apply(fields)

    def _apply(self, fields: dict[str, str]) -> None:
        now_s = time.monotonic()
        if fields.get("READY") == "1":
            self.ready = True
            self._last_ping_s = now_s
        if fields.get("STOPPING") == "1":
            self.stopping = True
        if "STATUS" in fields:
            self.status = fields["STATUS"]
        if fields.get("WATCHDOG") == "1":
            self._last_ping_s = now_s
        elif fields.get("WATCHDOG") == "trigger":
            self._triggered = True
        usec = fields.get("WATCHDOG_USEC", "")
        if usec.isdigit() and int(usec) > 0:
            self.watchdog_s = int(usec) / 1_000_000
            self._last_ping_s = now_s  # systemd restarts the timer with the new timeout

    def next_deadline_s(self) -> float | None:
        """Monotonic time at which verdict() turns hung unless a ping comes first."""
        if self.watchdog_s is None or self.stopping:
            return None
        return self._last_ping_s + self.watchdog_s

    def verdict(self, now_s: float | None = None) -> Hung | None:
        if self._triggered:
            return Hung("watchdog", "the program sent WATCHDOG=trigger")
        deadline = self.next_deadline_s()
        now_s = time.monotonic() if now_s is None else now_s
        if deadline is None or now_s < deadline:
            return None
        return Hung(
            "watchdog",
            f"no WATCHDOG=1 for {now_s - self._last_ping_s:.1f}s "
            f"(WATCHDOG_USEC={int((self.watchdog_s or 0) * 1_000_000)})",
        )

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
