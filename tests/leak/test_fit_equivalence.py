"""The fast statistics and trough search give exactly what the straightforward loops give
(bench/leak_fit_reference.py): same S, variance, slopes, troughs and verdicts, ties included
(and a series that never moves, as an idle process's)."""

from __future__ import annotations

import random

import pytest
from leak_fit_reference import mann_kendall as ref_mann_kendall
from leak_fit_reference import reference_fit
from leak_fit_reference import theil_sen as ref_theil_sen
from leak_fit_reference import trough_points as ref_trough_points

from memwarden.leak.detector import LeakDetector
from memwarden.leak.stats import mann_kendall, theil_sen
from memwarden.leak.trend import fit_trend, trough_points

PAGE = 4096.0


def _series(rng: random.Random, n: int) -> tuple[list[float], list[float]]:
    """Times with repeats and gaps; values on a few pages (many ties), a ramp or a sawtooth."""
    times, t = [], 0.0
    for _ in range(n):
        t += rng.choice((0.0, 1.0, 1.0, 2.0, 0.5, 7.0))
        times.append(t)
    shape = rng.choice(("flat", "ramp", "saw", "wide", "constant"))
    values = []
    for i in range(len(times)):
        level = {"flat": 0.0, "ramp": 3.0 * i, "saw": 5.0 * (i % 17), "wide": rng.random() * 1e9}
        if shape == "constant":  # an idle process: not one page moves
            values.append(293.0 * PAGE)
            continue
        values.append(PAGE * round(level[shape] + rng.choice((0, 0, 1, 2, 3))))
    return times, values


@pytest.mark.parametrize("seed", range(40))
def test_mann_kendall_and_theil_sen_match_the_pair_loops(seed: int) -> None:
    rng = random.Random(seed)
    times, values = _series(rng, rng.choice((0, 1, 2, 5, 30, 110, 112, 150, 240)))
    assert mann_kendall(values) == ref_mann_kendall(values)
    mk = ref_mann_kendall(values)
    for variance in (None, mk.variance):
        assert theil_sen(times, values, variance) == ref_theil_sen(times, values, variance)


@pytest.mark.parametrize("seed", range(60))
def test_trough_points_match_the_window_walk(seed: int) -> None:
    rng = random.Random(seed)
    times, values = _series(rng, rng.choice((1, 2, 9, 60, 150, 240)))
    span_s = times[-1] - times[0]
    for width_s in (span_s / 48, span_s / 9, span_s, 2 * span_s, 0.5, 3.0, 17.25):
        if width_s <= 0:
            continue
        for min_fall in (0.0, -1.0, PAGE, 1e12):
            fast = trough_points(times, values, width_s, min_fall)
            assert fast == ref_trough_points(times, values, width_s, min_fall), (width_s, min_fall)


@pytest.mark.parametrize("seed", range(12))
def test_fit_trend_and_detector_verdicts_match(seed: int) -> None:
    rng = random.Random(seed)
    times, values = _series(rng, 240)
    ints = [int(v) for v in values]
    with reference_fit():
        expected = [fit_trend(times[k:], ints[k:], min_window_s=30.0) for k in (0, 60, 180)]
    assert [fit_trend(times[k:], ints[k:], min_window_s=30.0) for k in (0, 60, 180)] == expected

    def run() -> list[object]:
        detector, out = LeakDetector(min_window_s=60.0), []
        for i, v in enumerate(values):
            flipped = detector.add(float(i), v + 40.0 * PAGE * (i > 120) * (i - 120))
            out.append((flipped, detector.trend))
        return out

    with reference_fit():
        expected_run = run()
    assert run() == expected_run
