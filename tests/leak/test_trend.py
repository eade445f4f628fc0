"""Trend on simulated (time-compressed) series: leaks found, non-leaks never flagged."""

from __future__ import annotations

import random

import pytest

from memwarden.leak.detector import LeakDetector
from memwarden.leak.simulate import (
    MiB,
    Shape,
    add,
    bounded,
    linear,
    plateau,
    sawtooth,
    series,
    spikes,
)
from memwarden.leak.stats import mann_kendall, theil_sen
from memwarden.leak.trend import fit_trend

BASE = 200 * MiB
SEEDS = (0, 1, 2)

NON_LEAKS: dict[str, Shape] = {
    "flat": linear(BASE, 0.0),
    "sawtooth": add(linear(BASE, 0.0), sawtooth(60.0, 40 * MiB)),
    "warmup_plateau": add(linear(BASE, 0.0), plateau(80 * MiB, 60.0), sawtooth(45.0, 20 * MiB)),
    # Fills in 40 s: within the start-up grace (min_window), so never judged while it rises.
    "bounded_cache": add(linear(BASE, 0.0), bounded(MiB, 40 * MiB), sawtooth(30.0, 10 * MiB)),
    # Fill rates that decay (random keys hit more often as the cache fills): ~95 % warm after
    # 60 s and after 240 s.
    "cache_warm_60s": add(linear(BASE, 0.0), plateau(30 * MiB, 20.0)),
    "cache_warm_240s": add(linear(BASE, 0.0), plateau(60 * MiB, 80.0), sawtooth(20.0, 5 * MiB)),
    "batch_spikes": add(linear(BASE, 0.0), spikes(120.0, 20.0, 100 * MiB)),
}


def first_detection(shape: Shape, seed: int, duration_s: float = 2400.0) -> float | None:
    times, values = series(shape, duration_s=duration_s, interval_s=2.0, noise_bytes=MiB,
                           seed=seed)
    detector = LeakDetector(limit_bytes=1024 * MiB)  # the guardian's defaults
    for t, v in zip(times, values, strict=True):
        flip = detector.add(t, v)
        if flip is not None and flip.leaking:
            return t
    return None


def test_mann_kendall_all_ties_is_not_rising() -> None:
    result = mann_kendall([4096.0] * 50)
    assert result.s == 0
    assert result.variance == 0
    assert result.p_up == 1.0


def test_mann_kendall_tie_correction_lowers_variance() -> None:
    values = [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0]
    n = len(values)
    assert mann_kendall(values).variance < n * (n - 1) * (2 * n + 5) / 18
    assert mann_kendall(values).p_up < 0.01


def test_theil_sen_ignores_outliers() -> None:
    xs = [float(i) for i in range(30)]
    ys = [10.0 + 2.0 * x for x in xs]
    ys[5] = ys[17] = 10_000.0
    sen = theil_sen(xs, ys)
    assert sen.slope == pytest.approx(2.0)
    assert sen.low <= 2.0 <= sen.high


def test_too_few_samples_gives_none() -> None:
    assert fit_trend([0.0, 1.0, 2.0], [1, 2, 3]) is None


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="values_bytes"):
        fit_trend([0.0, 1.0], [1])


def test_exactly_flat_series_with_ties() -> None:
    trend = fit_trend([float(t) for t in range(600)], [100 * MiB] * 600, limit_bytes=512 * MiB)
    assert trend is not None
    assert not trend.leaking
    assert trend.rate_bytes_per_h == 0
    assert trend.eta_s is None


@pytest.mark.parametrize("seed", SEEDS)
def test_leak_under_sawtooth_rate_and_eta(seed: int) -> None:
    rate_per_s = MiB / 60
    shape = add(linear(BASE, rate_per_s), sawtooth(60.0, 40 * MiB))
    times, values = series(shape, duration_s=1800, noise_bytes=MiB, seed=seed)
    trend = fit_trend(times, values, limit_bytes=512 * MiB)
    assert trend is not None and trend.leaking, trend
    assert trend.rate_bytes_per_h == pytest.approx(rate_per_s * 3600, rel=0.1)
    assert trend.rate_low_bytes_per_h <= rate_per_s * 3600 <= trend.rate_high_bytes_per_h * 1.05
    assert trend.p_value is not None and trend.p_value < 0.01
    floor_now = BASE + rate_per_s * 1800
    assert trend.intercept_bytes == pytest.approx(floor_now, abs=3 * MiB)
    assert trend.eta_s == pytest.approx((512 * MiB - floor_now) / rate_per_s, rel=0.15)
    assert trend.eta_peak_s is not None and trend.eta_peak_s < trend.eta_s
    assert trend.swing_bytes == pytest.approx(40 * MiB, rel=0.2)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_mib_per_minute_found_well_within_15_minutes(seed: int) -> None:
    shape = add(linear(BASE, MiB / 60), sawtooth(60.0, 40 * MiB))
    detected_at = first_detection(shape, seed)
    assert detected_at is not None
    assert detected_at < 12 * 60  # simulated seconds, not wall time


@pytest.mark.parametrize("seed", SEEDS)
def test_ten_mib_per_minute_found_within_a_minute_of_its_start(seed: int) -> None:
    def shape(t: float) -> float:  # healthy for 5 minutes, then 10 MiB/min
        return BASE + max(0.0, t - 300.0) * 10 * MiB / 60

    times, values = series(shape, duration_s=900, interval_s=1.0, noise_bytes=MiB / 2,
                           seed=seed)
    detector = LeakDetector(min_window_s=60.0)
    found = next((t for t, v in zip(times, values, strict=True)
                  if (flip := detector.add(t, v)) is not None and flip.leaking), None)
    assert found is not None and 300 < found <= 360  # simulated seconds


@pytest.mark.parametrize("seed", SEEDS)
def test_one_mib_per_minute_under_20_mib_of_noise_within_15_minutes(seed: int) -> None:
    rng = random.Random(seed)
    times, values = series(linear(BASE, MiB / 60), duration_s=1800, interval_s=1.0)
    noisy = [v + rng.uniform(-20 * MiB, 20 * MiB) for v in values]
    detector = LeakDetector(min_window_s=60.0)
    found = next((t for t, v in zip(times, noisy, strict=True)
                  if (flip := detector.add(t, v)) is not None and flip.leaking), None)
    assert found is not None and found <= 900
    trend = detector.trend
    assert trend is not None
    assert trend.rate_low_bytes_per_h <= MiB * 60 <= trend.rate_high_bytes_per_h * 1.5


@pytest.mark.parametrize("name", sorted(NON_LEAKS))
@pytest.mark.parametrize("seed", SEEDS)
def test_no_false_positive(name: str, seed: int) -> None:
    assert first_detection(NON_LEAKS[name], seed) is None


def test_detector_history_is_bounded_and_keeps_troughs() -> None:
    detector = LeakDetector(resolution_s=1.0, max_points=50, min_window_s=60.0)
    times, values = series(add(linear(BASE, 0.0), sawtooth(30.0, 10 * MiB)), duration_s=4000)
    for t, v in zip(times, values, strict=True):
        detector.add(t, v)
    kept_times, kept_values = detector.series()
    assert len(kept_times) <= 52
    assert min(kept_values) == min(values)
    assert detector.samples == len(times)
    assert not detector.leaking


def test_detector_clears_after_a_leak_stops() -> None:
    def shape(t: float) -> float:
        return BASE + (MiB / 10) * min(t, 900.0) + (t % 30) * 100_000

    times, values = series(shape, duration_s=5400, interval_s=2.0, noise_bytes=MiB / 4)
    detector = LeakDetector(min_window_s=300.0, max_window_s=1800.0)
    verdicts = []
    for t, v in zip(times, values, strict=True):
        flip = detector.add(t, v)
        if flip is not None:
            verdicts.append((t, flip.leaking))
    assert verdicts[0][1] is True and verdicts[0][0] < 900
    assert verdicts[-1][1] is False
