from __future__ import annotations

import memwarden.report
from memwarden.report.sparkline import BLOCKS, sparkline


def test_rising_series_uses_full_range() -> None:
    line = sparkline([0, 1, 2, 3, 4, 5, 6, 7])
    assert line == BLOCKS


def test_width_keeps_the_peaks() -> None:
    values = [0] * 100
    values[37] = 1000  # a single spike must survive bucketing
    line = sparkline(values, width=10)
    assert len(line) == 10
    assert line[3] == BLOCKS[-1]
    assert set(line) - {BLOCKS[-1]} == {BLOCKS[0]}


def test_unknown_values_are_gaps_and_flat_is_floor() -> None:
    assert sparkline([None, 5, 5, None]) == f" {BLOCKS[0]}{BLOCKS[0]} "
    assert sparkline([None, None]) == "  "
    assert sparkline([], width=5) == ""
    assert sparkline([1, 2], width=0) == ""


def test_fixed_scale_and_package_export() -> None:
    assert sparkline([50], low=0, high=100) == BLOCKS[4]
    assert sparkline([500], low=0, high=100) == BLOCKS[-1]
    assert memwarden.report.sparkline([1, 2, 3], 3) == sparkline([1, 2, 3])
