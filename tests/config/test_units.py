from __future__ import annotations

import pytest

from memwarden.errors import ConfigError
from memwarden.units import (
    Threshold,
    format_bytes,
    format_duration,
    parse_duration,
    parse_size,
    parse_threshold,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512M", 512 * 1024**2),
        ("1.5G", int(1.5 * 1024**3)),
        ("300MiB", 300 * 1024**2),
        ("64k", 64 * 1024),
        ("1024", 1024),
        (4096, 4096),
        (" 2 gb ", 2 * 1024**3),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "abc", "12X", "-5M", "0", "1.2.3G", "M"])
def test_parse_size_rejects_and_names_key(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_size(bad, key="limit")
    assert err.value.key == "limit"
    assert repr(bad) in str(err.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("100ms", 0.1), ("10s", 10.0), ("2m", 120.0), ("1h", 3600.0), ("1d", 86400.0), (0.5, 0.5)],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["soon", "10 parsecs", "-1s"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ConfigError, match="interval"):
        parse_duration(bad, key="interval")


def test_threshold_percent_resolves_against_limit() -> None:
    threshold = parse_threshold("85%")
    assert threshold == Threshold(fraction=0.85)
    assert threshold.resolve(1000) == 850
    assert threshold.resolve(None) is None
    assert str(threshold) == "85%"


def test_threshold_size_ignores_limit() -> None:
    threshold = parse_threshold("400M")
    assert threshold.resolve(None) == 400 * 1024**2
    assert threshold.resolve(10) == 400 * 1024**2


@pytest.mark.parametrize("bad", ["0%", "150%", "abc%", "%"])
def test_threshold_rejects_bad_percentages(bad: str) -> None:
    with pytest.raises(ConfigError, match="critical"):
        parse_threshold(bad, key="critical")


def test_formatting() -> None:
    assert format_bytes(None) == "-"
    assert format_bytes(512) == "512 B"
    assert format_bytes(300 * 1024**2) == "300.0 MiB"
    assert format_bytes(-2048) == "-2.0 KiB"
    assert format_duration(0.05) == "50ms"
    assert format_duration(200) == "3m20s"
    assert format_duration(None) == "-"


def test_parse_optional_duration() -> None:
    from memwarden.units import parse_optional_duration

    assert parse_optional_duration("5m", key="k") == 300.0
    assert parse_optional_duration(2, key="k") == 2.0
    for off in ("off", "none", "No", "false", False):
        assert parse_optional_duration(off, key="k") is None
    assert parse_optional_duration("0", key="k") == 0.0  # "0" is a number, never "off"
    with pytest.raises(ConfigError, match="k='soon'"):
        parse_optional_duration("soon", key="k")
