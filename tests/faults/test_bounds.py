"""Pure parts of the supervisor's fault handling: bounded delays, request parsing."""

from __future__ import annotations

import math

import pytest

from memwarden.supervisor.control import MAX_NESTING, nesting, parse_request
from memwarden.supervisor.policy.restart import MAX_DELAY_S, RestartTracker, bounded_delay_s


def test_the_backoff_survives_any_number_of_quick_crashes() -> None:
    tracker = RestartTracker(max_restarts=10_000, window_s=3600.0, backoff_s=0.001,
                             backoff_max_s=15.0, stable_after_s=30.0)
    delays = [tracker.crash_delay_s(0.0) for _ in range(5000)]  # 2.0 ** 1024 would overflow
    assert delays[:3] == [0.001, 0.002, 0.004]
    assert delays[-1] == 15.0 and all(math.isfinite(d) for d in delays)


@pytest.mark.parametrize(("delay_s", "bounded_s"), [
    (float("nan"), 0.0), (-1.0, 0.0), (0.0, 0.0), (2.5, 2.5), (float("inf"), MAX_DELAY_S),
    (1e300, MAX_DELAY_S),
])
def test_delays_added_to_the_clock_are_bounded(delay_s: float, bounded_s: float) -> None:
    assert bounded_delay_s(delay_s) == bounded_s


def test_nesting_skips_brackets_inside_strings() -> None:
    assert nesting(b'{"cmd": "[[[[[[[[["}') == 1
    assert nesting(b'{"a": "\\"[[[[", "b": [[1]]}') == 3
    assert nesting(b"[" * 2048) == 2048


@pytest.mark.parametrize("line", [
    b"[" * 2048, b'{"a":' * (MAX_NESTING + 1) + b"1" + b"}" * (MAX_NESTING + 1), b"\xff\xfe",
    b'"status"', b'{"cmd": 1}', b'{"cmd": "stop", "program": ["web"]}', b"",
])
def test_bad_requests_raise_value_error_naming_the_problem(line: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_request(line)


def test_a_good_request_passes() -> None:
    assert parse_request(b'{"cmd": "restart", "program": "web"}') == {
        "cmd": "restart", "program": "web"}
