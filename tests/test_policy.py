from __future__ import annotations

from memwarden.policy import PolicyConfig, PolicyState, Tier, Transition, evaluate
from memwarden.units import parse_threshold

MIB = 1024**2
LIMIT = 1000 * MIB  # default ladder: warn 700, critical 850, restart 950 MiB; margins 5%


def run(values_mib: list[float], config: PolicyConfig | None = None,
        step_s: float = 1.0) -> tuple[list[Tier], list[Transition]]:
    config = config or PolicyConfig()
    state = PolicyState()
    tiers: list[Tier] = []
    transitions: list[Transition] = []
    for i, value in enumerate(values_mib):
        state, transition = evaluate(
            state, measured_bytes=int(value * MIB), limit_bytes=LIMIT, now_s=i * step_s,
            config=config,
        )
        tiers.append(state.tier)
        if transition is not None:
            transitions.append(transition)
    return tiers, transitions


def test_rising_through_the_ladder_emits_one_transition_per_change() -> None:
    tiers, transitions = run([100, 710, 720, 860, 960, 960])
    assert tiers == [Tier.OK, Tier.WARN, Tier.WARN, Tier.CRITICAL, Tier.RESTART, Tier.RESTART]
    assert [(t.previous, t.current) for t in transitions] == [
        (Tier.OK, Tier.WARN), (Tier.WARN, Tier.CRITICAL), (Tier.CRITICAL, Tier.RESTART)
    ]
    assert transitions[1].threshold_bytes == 850 * MIB
    assert all(t.rising for t in transitions)


def test_a_jump_goes_straight_to_the_highest_tier_reached() -> None:
    _, transitions = run([100, 990])
    assert [(t.previous, t.current) for t in transitions] == [(Tier.OK, Tier.RESTART)]


def test_sawtooth_around_a_threshold_does_not_flap() -> None:
    # Oscillates 20 MiB either side of warn (700); the release floor is 665.
    tiers, transitions = run([690, 720, 680, 715, 685, 705, 690])
    assert len(transitions) == 1
    assert tiers[-1] == Tier.WARN


def test_tier_is_left_only_below_the_margin_and_falls_to_the_right_tier() -> None:
    tiers, transitions = run([900, 820, 790, 600, 100])
    # 820 is below critical (850) but above its floor (807.5): stays critical.
    assert tiers == [Tier.CRITICAL, Tier.CRITICAL, Tier.WARN, Tier.OK, Tier.OK]
    assert [(t.previous, t.current) for t in transitions] == [
        (Tier.OK, Tier.CRITICAL), (Tier.CRITICAL, Tier.WARN), (Tier.WARN, Tier.OK)
    ]
    assert not transitions[1].rising


def test_falling_far_skips_intermediate_tiers() -> None:
    _, transitions = run([960, 100])
    assert [(t.previous, t.current) for t in transitions] == [
        (Tier.OK, Tier.RESTART), (Tier.RESTART, Tier.OK)
    ]


def test_sustain_requires_the_figure_to_stay_above_for_the_period() -> None:
    config = PolicyConfig(sustain_s=3.0)
    # A 2-sample spike does not count; a 4-sample plateau does (entered after 3 s).
    tiers, transitions = run([100, 900, 900, 100, 900, 900, 900, 900], config)
    assert tiers == [Tier.OK, Tier.OK, Tier.OK, Tier.OK, Tier.OK, Tier.OK, Tier.OK, Tier.CRITICAL]
    assert len(transitions) == 1 and transitions[0].time_s == 7.0


def test_absolute_thresholds_without_a_limit() -> None:
    config = PolicyConfig(ladder={Tier.WARN: parse_threshold("100M"),
                                  Tier.CRITICAL: parse_threshold("200M")})
    state, transition = evaluate(PolicyState(), measured_bytes=250 * MIB, limit_bytes=None,
                                 now_s=0.0, config=config)
    assert state.tier == Tier.CRITICAL and transition is not None
    assert transition.threshold_bytes == 200 * MIB


def test_percentages_without_a_limit_never_fire() -> None:
    state, transition = evaluate(PolicyState(), measured_bytes=10**12, limit_bytes=None,
                                 now_s=0.0, config=PolicyConfig())
    assert state.tier == Tier.OK and transition is None


def test_tier_labels_round_trip() -> None:
    for tier in Tier:
        assert Tier.from_label(tier.label) is tier


def test_absolute_threshold_under_a_huge_limit_is_still_left() -> None:
    # 300 MiB critical on a 24 GiB machine: the margin is 5% of the threshold, not of the limit.
    config = PolicyConfig(ladder={Tier.CRITICAL: parse_threshold("300M")})
    state, _ = evaluate(PolicyState(), measured_bytes=310 * MIB, limit_bytes=24 * 1024 * MIB,
                        now_s=0.0, config=config)
    assert state.tier == Tier.CRITICAL
    state, transition = evaluate(state, measured_bytes=200 * MIB, limit_bytes=24 * 1024 * MIB,
                                 now_s=1.0, config=config)
    assert state.tier == Tier.OK and transition is not None


def test_critical_timeout_escalates_to_restart() -> None:
    # Shedding holds the figure at critical (860-900 MiB), below the restart threshold (950).
    config = PolicyConfig(critical_timeout_s=5.0)
    tiers, transitions = run([100, 860, 880, 900, 870, 890, 880], config)
    assert tiers[1:6] == [Tier.CRITICAL] * 5
    assert tiers[6] == Tier.RESTART  # 5 s after critical was entered at t=1
    last = transitions[-1]
    assert (last.previous, last.current, last.critical_for_s) == (Tier.CRITICAL, Tier.RESTART,
                                                                 5.0)
    assert last.rising and last.threshold_bytes == 950 * MIB


def test_critical_timeout_restarts_its_clock_when_critical_is_left() -> None:
    config = PolicyConfig(critical_timeout_s=3.0)
    # critical at t=1..2, back to warn at t=3 (below 850 - 5 %), critical again from t=4
    tiers, _ = run([100, 860, 860, 700, 860, 860, 860, 860], config)
    assert Tier.RESTART not in tiers[:7]
    assert tiers[7] == Tier.RESTART


def test_critical_timeout_without_a_restart_tier_never_escalates() -> None:
    ladder = {Tier.WARN: parse_threshold("70%"), Tier.CRITICAL: parse_threshold("85%")}
    tiers, _ = run([860] * 10, PolicyConfig(ladder=ladder, critical_timeout_s=1.0))
    assert set(tiers) == {Tier.CRITICAL}
