"""Pure parts: cron matching, restart accounting, log rotation and line splitting."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from memwarden.errors import ConfigError
from memwarden.supervisor.logs import LineBuffer, RotatingFile
from memwarden.supervisor.policy.cron import parse_cron
from memwarden.supervisor.policy.restart import RestartTracker, age_deadline_s
from memwarden.supervisor.states import RestartReason


def _local(y: int, mo: int, d: int, h: int, mi: int) -> float:
    return time.mktime((y, mo, d, h, mi, 0, 0, 0, -1))


def test_cron_next_after() -> None:
    nightly = parse_cron("30 4 * * *")
    assert nightly.next_after(_local(2026, 11, 23, 10, 0)) == _local(2026, 11, 24, 4, 30)
    assert nightly.next_after(_local(2026, 11, 23, 4, 29)) == _local(2026, 11, 23, 4, 30)
    every_15 = parse_cron("*/15 * * * *")
    assert every_15.next_after(_local(2026, 1, 1, 0, 15)) == _local(2026, 1, 1, 0, 30)
    sundays = parse_cron("0 3 * * 7")  # 7 and 0 both mean Sunday
    assert sundays.next_after(_local(2026, 11, 23, 0, 0)) == _local(2026, 11, 29, 3, 0)
    # both day fields restricted: either matches (Vixie cron)
    first_or_monday = parse_cron("0 0 1 * 1")
    assert first_or_monday.next_after(_local(2026, 11, 24, 0, 0)) == _local(2026, 11, 30, 0, 0)
    assert parse_cron("0 0 30 2 *").next_after(_local(2026, 1, 1, 0, 0)) is None
    assert parse_cron("0-10/5 1,2 * 1-3 *").minutes == frozenset({0, 5, 10})


@pytest.mark.parametrize("expr", ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *",
                                  "a * * * *", "* * 0 * *"])
def test_cron_rejects(expr: str) -> None:
    with pytest.raises(ConfigError, match="restart_at="):
        parse_cron(expr)


def test_tracker_window_and_backoff() -> None:
    tracker = RestartTracker(max_restarts=2, window_s=60, backoff_s=0.1, backoff_max_s=0.35,
                             stable_after_s=30)
    delays = [tracker.crash_delay_s(uptime_s=1) for _ in range(4)]
    assert delays == [0.1, 0.2, 0.35, 0.35]
    assert tracker.crash_delay_s(uptime_s=31) == 0.1  # a stable run resets the backoff
    assert tracker.allow(0)
    tracker.record(0, 0, RestartReason.MEMORY)
    tracker.record(10, 10, RestartReason.CRASH)
    assert not tracker.allow(20)
    assert tracker.allow(61)  # the first one left the window
    assert [r.reason for r in tracker.history] == ["memory", "crash"] and tracker.total == 2


def test_age_deadline_jitter() -> None:
    assert age_deadline_s(100.0, 1000.0, 0.1, draw=0.0) == 1100.0
    assert age_deadline_s(100.0, 1000.0, 0.1, draw=0.5) == 1050.0
    deadlines = [age_deadline_s(100.0, 1000.0, 0.1) for _ in range(50)]
    assert all(d is not None and 1000.0 < d <= 1100.0 for d in deadlines)
    assert len(set(deadlines)) > 1
    assert age_deadline_s(0.0, None, 0.1) is None


def test_rotating_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    log = RotatingFile(path, max_bytes=100, backups=2)
    for index in range(10):
        log.write(f"line {index:02d} " + "x" * 30 + "\n")
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["app.log", "app.log.1", "app.log.2"]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
    assert "line 09" in path.read_text()


def test_line_buffer() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"a\nb") == [b"a"]
    assert buffer.feed(b"c\n\n") == [b"bc", b""]
    assert buffer.feed(b"tail") == []
    assert buffer.flush() == [b"tail"]


def test_autorestart_setting_accepts_exactly_the_enum() -> None:
    from memwarden.settings.registry import section
    from memwarden.settings.types import Choice
    from memwarden.supervisor.states import Autorestart

    converter = section("program")["autorestart"].conv
    assert isinstance(converter, Choice) and converter.choices == tuple(Autorestart)
