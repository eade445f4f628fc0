"""Watchdog in the supervisor loop: restart a program that hangs, with reason `watchdog`.

- `--health-url URL` (TOML `health_url`, `health_interval`, `health_timeout`,
  `health_failures`, `health_start_period`): a HealthProbe per program (a worker thread
  whose results wake the loop through a pipe); `health_failures` consecutive failed GETs
  restart it. Failures before the first success within the start period do not count.
- `--watchdog 10s` (TOML `watchdog`): a NotifySocket per program in a private 0700 directory;
  the program gets NOTIFY_SOCKET and WATCHDOG_USEC and must send WATCHDOG=1 (sd_notify) at
  least that often; it may change the timeout with WATCHDOG_USEC=n or send
  WATCHDOG=trigger. The deadline is one of the loop's timers.

Each new generation starts with a clean slate (probe failures forgotten, a full watchdog
period). Verdicts only count while the program is `running`.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from memwarden.events import EventKind, Level
from memwarden.supervisor.process import SpawnHook

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import selectors
    from typing import Any

    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.program import ProgramRun
    from memwarden.supervisor.watchdog import HealthProbe, Hung, NotifySocket


class Liveness:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.probes: dict[str, HealthProbe] = {}
        self.notify: dict[str, NotifySocket] = {}
        self._dir: Path | None = None

    def setup(self) -> None:
        for run in self.sup.runs.values():
            cfg = run.config
            if cfg.health_url is None and cfg.watchdog_s is None:
                continue
            # Only now: http.client pulls in ssl & co. (~5 MB of RSS in the supervisor).
            from memwarden.supervisor.watchdog import HealthProbe, NotifySocket, ProbeConfig

            if cfg.health_url is not None:
                probe = HealthProbe(ProbeConfig(
                    url=cfg.health_url, interval_s=cfg.health_interval_s,
                    timeout_s=cfg.health_timeout_s, failure_threshold=cfg.health_failures,
                    start_period_s=cfg.health_start_period_s)).start()
                self.probes[run.name] = probe
                self.sup.add_reader(probe.fileno(), self._on_probe(run.name, probe))
                self.sup.sink.event("info", f"watchdog: GET {cfg.health_url} every "
                                    f"{cfg.health_interval_s:g}s, restart after "
                                    f"{cfg.health_failures} failure(s)", program=run.name)
            if cfg.watchdog_s is not None:
                if self._dir is None:
                    import tempfile

                    self._dir = Path(tempfile.mkdtemp(prefix="memwarden-notify-"))  # 0700
                sock = NotifySocket(self._dir / f"{run.name}.sock", watchdog_s=cfg.watchdog_s)
                self.notify[run.name] = sock
                self.sup.add_reader(sock.fileno(), self._on_notify(sock))
                self.sup.sink.event("info", f"watchdog: NOTIFY_SOCKET={sock.path}, "
                                    f"WATCHDOG_USEC={int(cfg.watchdog_s * 1e6)}",
                                    program=run.name)

    def spawn_hook(self, name: str) -> SpawnHook | None:
        probe = self.probes.get(name)
        if probe is not None:
            probe.reset()
        sock = self.notify.get(name)
        if sock is None:
            return None
        sock.reset()
        return SpawnHook(env=sock.env())

    def deadlines(self) -> list[float]:
        found = []
        for name, sock in self.notify.items():
            deadline = sock.next_deadline_s()
            if deadline is not None and self.sup.runs[name].state == "running":
                found.append(deadline)
        return found

    def check(self, now_s: float) -> None:
        for name, sock in self.notify.items():
            self._act(self.sup.runs[name], sock.verdict(now_s))

    def _on_probe(self, name: str, probe: HealthProbe) -> Any:
        def on_result(_selector: selectors.BaseSelector) -> None:
            probe.drain()
            self._act(self.sup.runs[name], probe.verdict())

        return on_result

    def _on_notify(self, sock: NotifySocket) -> Any:
        def on_message(_selector: selectors.BaseSelector) -> None:
            sock.drain()

        return on_message

    def _act(self, run: ProgramRun, hung: Hung | None) -> None:
        if hung is None or run.state != "running" or not run.alive:
            return
        uptime = time.monotonic() - run.started_s
        detail = f"{hung.detail} (up {uptime:.1f}s)"
        self.sup.events.emit(EventKind.WATCHDOG, f"watchdog: {detail}", program=run.name,
                             level=Level.WARNING, tier=run.tier.label, detail=hung.detail,
                             pid=run.pid, uptime_s=round(uptime, 3))
        self.sup.request_restart(run.name, hung.reason, detail, run.figures())

    def close(self) -> None:
        for probe in self.probes.values():
            self.sup.remove_reader(probe.fileno())
            probe.close()
        for sock in self.notify.values():
            self.sup.remove_reader(sock.fileno())
            sock.close()
        if self._dir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)
