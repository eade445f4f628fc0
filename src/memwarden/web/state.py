"""What the endpoints and metrics read: the guardian's status, its leak trend and events.

Without a running guardian a one-off sample is taken and the pure policy gives its tier; no
action runs (a request must never trigger a cleanup or a restart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memwarden.guardian import Guardian, GuardianStatus


def running_guardian() -> Guardian | None:
    from memwarden import guardian

    return guardian.current()


def current_status() -> GuardianStatus:
    from memwarden import guardian

    running = guardian.current()
    return running.status() if running is not None else guardian.oneoff_status()


@dataclass(frozen=True, slots=True)
class LeakInfo:
    time_s: float
    message: str
    leaking: bool  # False once the detector published phase "cleared"
    rate_bytes_per_s: float | None
    eta_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time_s, "message": self.message, "leaking": self.leaking,
                "rate_bytes_per_s": self.rate_bytes_per_s, "eta_s": self.eta_s}


def _number(figures: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = figures.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def latest_leak(guardian: Guardian | None) -> LeakInfo | None:
    """The most recent `leak` event's rate and ETA (the leak detector publishes them, with
    figures rate_bytes_per_h, eta_s and phase detected/attributed/cleared)."""
    if guardian is None:
        return None
    for event in reversed(guardian.events.recent()):
        if event.kind != "leak":
            continue
        figures = event.figures
        rate_s = _number(figures, "rate_bytes_per_s")
        if rate_s is None:
            rate_h = _number(figures, "rate_bytes_per_h")
            rate_s = None if rate_h is None else rate_h / 3600.0
        leaking = figures.get("phase") != "cleared"  # "detected" / "attributed" / absent
        return LeakInfo(event.time_s, event.message, leaking, rate_s, _number(figures, "eta_s"))
    return None
