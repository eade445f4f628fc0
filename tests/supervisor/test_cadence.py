"""When the supervisor samples next: the pure rule, no clock involved."""

from __future__ import annotations

from memwarden.supervisor.cadence import (
    FULL_EVERY,
    SLOWEST_FACTOR,
    full_every_s,
    next_interval_s,
    slowest_interval_s,
)

GIB = 1024**3
MIB = 1024**2


def test_slowest_is_a_multiple_of_the_interval_capped_by_the_leak_resolution() -> None:
    assert slowest_interval_s(0.1, None) == 0.1 * SLOWEST_FACTOR
    assert slowest_interval_s(0.1, 300.0) == 0.1 * SLOWEST_FACTOR  # 5 s per point: above
    assert slowest_interval_s(0.1, 60.0) == 1.0  # 60 points in the 1 min leak window
    assert slowest_interval_s(0.1, 30.0) == 0.5
    assert slowest_interval_s(1.0, 1.0) == 1.0  # never faster than the interval itself


def test_full_samples_keep_their_pace_whatever_the_leak_window() -> None:
    """The leak window samples the tree every second; limits, memory.stat, meminfo and PSI
    are re-read every FULL_EVERY slowest intervals as without it (20 s at 100 ms)."""
    assert full_every_s(0.1) == 0.1 * SLOWEST_FACTOR * FULL_EVERY == 20.0
    assert full_every_s(0.1) > FULL_EVERY * slowest_interval_s(0.1, 60.0)
    assert full_every_s(1.0) == 200.0


def test_far_from_the_threshold_waits_until_the_fastest_rate_could_close_the_gap() -> None:
    rule = {"interval_s": 0.1, "slowest_s": 2.0, "max_alloc_rate_bytes_per_s": 2 * GIB}
    assert next_interval_s(gap_bytes=GIB, **rule) == 0.5  # 1 GiB at 2 GiB/s
    assert next_interval_s(gap_bytes=100 * GIB, **rule) == 2.0  # never slower than slowest
    assert next_interval_s(gap_bytes=10 * MIB, **rule) == 0.1  # near: the interval
    assert next_interval_s(gap_bytes=0, **rule) == 0.1
    assert next_interval_s(gap_bytes=-5 * MIB, **rule) == 0.1  # past it (a pending tier)
    assert next_interval_s(gap_bytes=None, **rule) == 2.0  # events watch, or nothing ahead


def test_a_slower_allocator_setting_stretches_the_wait() -> None:
    fast = next_interval_s(interval_s=0.1, slowest_s=2.0, gap_bytes=400 * MIB,
                           max_alloc_rate_bytes_per_s=2 * GIB)
    slow = next_interval_s(interval_s=0.1, slowest_s=2.0, gap_bytes=400 * MIB,
                           max_alloc_rate_bytes_per_s=200 * MIB)
    assert fast < slow == 2.0


def test_max_alloc_rate_setting_takes_a_size_per_second_and_refuses_the_rest() -> None:
    import pytest

    from memwarden.errors import ConfigError
    from memwarden.supervisor.config import build_program

    assert build_program({"command": ["app"]}).max_alloc_rate_bytes_per_s == 2 * GIB
    assert build_program({"command": ["app"], "max_alloc_rate": "500M/s"}) \
        .max_alloc_rate_bytes_per_s == 500 * MIB
    assert build_program({"command": ["app"], "max_alloc_rate": "1G"}) \
        .max_alloc_rate_bytes_per_s == GIB
    for bad in ("fast", "-1G/s", "512K/s", "9" * 400 + "/s", "2G/h", ""):
        with pytest.raises(ConfigError, match="max_alloc_rate") as err:
            build_program({"command": ["app"], "max_alloc_rate": bad})
        assert "size per second" in str(err.value) or "at least 1M/s" in str(err.value)


def test_the_gap_is_to_the_nearest_threshold_above_the_tier_in_force() -> None:
    from memwarden.policy import PolicyConfig, PolicyState, Tier
    from memwarden.supervisor.monitor import _gap_bytes

    policy = PolicyConfig()  # 70 / 85 / 95 % of the limit
    assert _gap_bytes(policy, PolicyState(), 600, 1000) == 100
    assert _gap_bytes(policy, PolicyState(tier=Tier.WARN), 800, 1000) == 50
    assert _gap_bytes(policy, PolicyState(tier=Tier.RESTART), 990, 1000) is None
    assert _gap_bytes(policy, PolicyState(), 600, None) is None  # no limit, no threshold
