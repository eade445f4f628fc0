"""What happened so far, from the streams the demo reads: the service's trace (samples and
the guardian's events: tiers, leak, shedding, cleanup, state saved/restored), the supervisor's
trace (its events: starts, restarts) and the service's output (its "ready" line). Milestones
are the moments worth a line. Nothing here parses a log message."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memwarden.units import format_bytes, format_duration, format_rate

HISTORY = 600  # samples kept for the sparkline and the peak
TIERS = ("ok", "warn", "critical", "restart")


@dataclass(frozen=True, slots=True)
class Milestone:
    time_s: float
    kind: str  # start, ready, leak, culprit, tier, shed, cleanup, restart, saved, restored
    text: str


@dataclass(slots=True)
class Story:
    started_s: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    limit_bytes: int | None = None
    thresholds_bytes: dict[str, int] = field(default_factory=dict)
    tier: str = "ok"
    peak_bytes: int = 0
    leak: dict[str, Any] | None = None  # figures of the latest "detected" leak event
    leaks: list[dict[str, Any]] = field(default_factory=list)  # every detection
    culprit: dict[str, Any] | None = None  # figures of the latest "attributed" leak event
    culprits: list[dict[str, Any]] = field(default_factory=list)
    shedding: bool = False
    restarts: list[dict[str, Any]] = field(default_factory=list)  # reason, detail, ...
    saved: list[dict[str, Any]] = field(default_factory=list)
    restored: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _mark(self, time_s: float, kind: str, text: str) -> None:
        self.milestones.append(Milestone(time_s, kind, text))

    # -- the service's trace ------------------------------------------------------------------
    def trace_record(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        with self.lock:
            if kind == "sample":
                self._sample(record)
            elif kind == "event":
                self._event(record)

    def _sample(self, record: dict[str, Any]) -> None:
        measured = record.get("measured_bytes")
        if not isinstance(measured, int):
            return
        self.samples.append((float(record["t"]), measured))
        del self.samples[:-HISTORY]
        self.peak_bytes = max(self.peak_bytes, measured)
        if isinstance(record.get("limit_bytes"), int):
            self.limit_bytes = record["limit_bytes"]
        levels = record.get("thresholds_bytes")
        if isinstance(levels, dict):
            self.thresholds_bytes = {k: v for k, v in levels.items() if isinstance(v, int)}
        if isinstance(record.get("tier"), str):
            self.tier = record["tier"]

    def _event(self, record: dict[str, Any]) -> None:
        time_s = float(record.get("t", 0.0))
        kind = record.get("kind")
        raw = record.get("figures")
        figures: dict[str, Any] = raw if isinstance(raw, dict) else {}
        message = str(record.get("message", ""))
        if kind == "leak" and figures.get("phase") == "detected":
            self.leak = {**figures, "detected_at_s": time_s}
            self.leaks.append(figures)
            self._mark(time_s, "leak", "leak detected: " + describe_leak(figures))
        elif kind == "leak" and figures.get("phase") == "attributed":
            self.culprit = figures
            self.culprits.append(figures)
            self._mark(time_s, "culprit", "culprit: " + describe_culprit(figures))
        elif kind == "tier" and record.get("tier") in TIERS:
            tier, previous = str(record["tier"]), figures.get("previous")
            if previous in TIERS and TIERS.index(tier) > TIERS.index(str(previous)):  # rising
                self._mark(time_s, "tier", f"tier {tier}: "
                           f"{format_bytes(figures.get('measured_bytes'))} of "
                           f"{format_bytes(figures.get('limit_bytes'))}")
        elif kind == "shed":
            on = figures.get("state") == "on"
            self.shedding = on
            text = ("load shedding ON: memory critical, new requests get 503 + Retry-After"
                    if on else f"load shedding off ({message})")
            self._mark(time_s, "shed", text)
        elif kind == "state_saved":
            self.saved.append(figures)
            self._mark(time_s, "saved", message)
        elif kind == "state_restored":
            self.restored.append(figures)
            self._mark(time_s, "restored", message)
        elif kind == "action" and figures.get("step") in ("gc", "malloc_trim"):
            self._mark(time_s, "cleanup", f"cleanup at critical: {message}")

    # -- the supervisor's trace and the service's output --------------------------------------
    def supervisor_event(self, record: dict[str, Any]) -> None:
        """Take in one record of the supervisor's trace (`memwarden run --trace`)."""
        if record.get("type") != "event":
            return
        time_s = float(record.get("t", 0.0))
        raw = record.get("figures")
        figures: dict[str, Any] = raw if isinstance(raw, dict) else {}
        with self.lock:
            if record.get("kind") == "restart":
                self.restarts.append(figures)
                # That process goes away with its shedding, its leak and its ETA; the
                # milestones keep them, the live block starts afresh.
                self.shedding = False
                self.leak = None
                self.culprit = None
                self._mark(time_s, "restart", describe_restart(figures))
            elif record.get("kind") == "started":
                again = " again" if self.restarts else ""
                self._mark(time_s, "start", f"memwarden run started the service{again}: "
                           f"pid {figures.get('pid')}")

    def output_record(self, record: dict[str, Any]) -> None:
        """Take in one line of `memwarden run --json`: the service's own "ready" line."""
        line = str(record.get("line", ""))
        if record.get("stream") == "stdout" and line.startswith("ready on"):
            with self.lock:
                self._mark(float(record.get("time", 0.0)), "ready", line)

    # -- views --------------------------------------------------------------------------------
    def latest_bytes(self) -> int | None:
        return self.samples[-1][1] if self.samples else None


def describe_leak(figures: dict[str, Any]) -> str:
    """`+6.2 MiB/s (95% CI +6.0 MiB/s to +6.4 MiB/s)`: the unit the report uses too."""
    rate = float(figures.get("rate_bytes_per_h") or 0.0) / 3600.0
    low = float(figures.get("rate_low_bytes_per_h") or 0.0) / 3600.0
    high = float(figures.get("rate_high_bytes_per_h") or 0.0) / 3600.0
    eta = figures.get("eta_s")
    text = (f"{format_rate(rate)} (95% CI {format_rate(low, like=rate)} to "
            f"{format_rate(high, like=rate)})")
    if isinstance(eta, int | float):
        text += f", reaches the limit in {format_duration(float(eta))}"
    return text


def describe_restart(figures: dict[str, Any]) -> str:
    """`graceful restart (memory): tree RSS 244.1 MiB reached the restart threshold ...`"""
    detail = figures.get("detail")
    return f"graceful restart ({figures.get('reason', '?')})" + (f": {detail}" if detail else "")


def describe_culprit(figures: dict[str, Any]) -> str:
    from memwarden.report.cards import describe_culprit as plain_words

    return plain_words(figures) or "no growing container found"


def read_new_records(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete lines appended since `offset` (a line still being written waits)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records, offset + end
