"""Pure tier policy: (state, measured figure, limit, time, config) -> (state, transition).

No I/O: drivers (guardian, supervisor, middleware) feed it figures and act on transitions.
"""

from __future__ import annotations

from enum import IntEnum

from memwarden.record import field, record, replace
from memwarden.units import Threshold, parse_threshold


class Tier(IntEnum):
    OK = 0
    WARN = 1
    CRITICAL = 2
    RESTART = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Tier:
        return cls[label.upper()]


def _default_ladder() -> dict[Tier, Threshold]:
    return {
        Tier.WARN: parse_threshold("70%"),
        Tier.CRITICAL: parse_threshold("85%"),
        Tier.RESTART: parse_threshold("95%"),
    }


@record
class PolicyConfig:
    # Tier -> threshold; a tier left out (e.g. no RESTART for a library user) is never entered.
    ladder: dict[Tier, Threshold] = field(default_factory=_default_ladder)
    # A tier is left only this far below its threshold (a fraction of the threshold), so a
    # sawtooth around a threshold does not flap. Relative to the threshold, not the limit: an
    # absolute threshold under a huge machine-wide limit must still be left.
    hysteresis_fraction: float = 0.05
    # A higher tier is entered only after the figure stayed above its threshold this long.
    sustain_s: float = 0.0
    # Critical this long without a break escalates to the restart tier (when the ladder has
    # one): shedding at critical can hold a request-driven leak just below the restart
    # threshold for ever, with most requests refused. None: never.
    critical_timeout_s: float | None = None

    def thresholds_bytes(self, limit_bytes: int | None) -> dict[Tier, int | None]:
        return {tier: threshold.resolve(limit_bytes) for tier, threshold in self.ladder.items()}


@record
class PolicyState:
    tier: Tier = Tier.OK
    # The higher tier the figure currently qualifies for while `sustain_s` runs, and since when.
    pending: Tier | None = None
    pending_since_s: float | None = None
    since_s: float | None = None  # when `tier` was entered (None: at start)


@record
class Transition:
    previous: Tier
    current: Tier
    time_s: float
    measured_bytes: int
    threshold_bytes: int | None  # the threshold crossed (the left tier's, when going down)
    limit_bytes: int | None
    # Set when the restart tier came from critical_timeout_s: how long critical lasted.
    critical_for_s: float | None = None

    @property
    def rising(self) -> bool:
        return self.current > self.previous


def _raw_tier(measured_bytes: int, thresholds: dict[Tier, int | None]) -> Tier:
    reached = Tier.OK
    for tier, threshold in thresholds.items():
        if threshold is not None and measured_bytes >= threshold and tier > reached:
            reached = tier
    return reached


def _release_floor(tier: Tier, thresholds: dict[Tier, int | None],
                   config: PolicyConfig) -> int | None:
    """Below this figure the current tier is left."""
    threshold = thresholds.get(tier)
    if threshold is None:
        return None
    return threshold - int(threshold * config.hysteresis_fraction)


def _critical_timed_out(tier: Tier, since_s: float, now_s: float,
                        thresholds: dict[Tier, int | None], config: PolicyConfig) -> bool:
    return (tier == Tier.CRITICAL and config.critical_timeout_s is not None
            and thresholds.get(Tier.RESTART) is not None
            and now_s - since_s >= config.critical_timeout_s)


def evaluate(
    state: PolicyState,
    *,
    measured_bytes: int,
    limit_bytes: int | None,
    now_s: float,
    config: PolicyConfig,
) -> tuple[PolicyState, Transition | None]:
    """Advance the policy by one sample. A steady tier yields no transition."""
    thresholds = config.thresholds_bytes(limit_bytes)
    raw = _raw_tier(measured_bytes, thresholds)

    if raw > state.tier:
        if config.sustain_s > 0:
            since = state.pending_since_s if state.pending_since_s is not None else now_s
            pending = max(raw, state.pending) if state.pending is not None else raw
            if now_s - since < config.sustain_s:
                return replace(state, pending=pending, pending_since_s=since), None
            raw = min(raw, pending) if pending is not None else raw
        new_state = PolicyState(tier=raw, since_s=now_s)
        return new_state, Transition(
            previous=state.tier,
            current=raw,
            time_s=now_s,
            measured_bytes=measured_bytes,
            threshold_bytes=thresholds.get(raw),
            limit_bytes=limit_bytes,
        )

    # Going down: walk down while below each tier's release floor (hysteresis).
    tier = state.tier
    while tier > Tier.OK:
        floor = _release_floor(tier, thresholds, config)
        if floor is not None and measured_bytes >= floor:
            break
        tier = Tier(tier - 1)
        if tier > Tier.OK and thresholds.get(tier) is not None and raw >= tier:
            break
    if tier == state.tier:
        since_s = state.since_s if state.since_s is not None else now_s
        if _critical_timed_out(tier, since_s, now_s, thresholds, config):
            return PolicyState(tier=Tier.RESTART, since_s=now_s), Transition(
                previous=tier,
                current=Tier.RESTART,
                time_s=now_s,
                measured_bytes=measured_bytes,
                threshold_bytes=thresholds.get(Tier.RESTART),
                limit_bytes=limit_bytes,
                critical_for_s=now_s - since_s,
            )
        return PolicyState(tier=tier, since_s=since_s), None
    return PolicyState(tier=tier, since_s=now_s), Transition(
        previous=state.tier,
        current=tier,
        time_s=now_s,
        measured_bytes=measured_bytes,
        threshold_bytes=thresholds.get(state.tier),
        limit_bytes=limit_bytes,
    )
