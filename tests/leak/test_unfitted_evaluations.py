"""An evaluation whose history never rises is not fitted (the verdict cannot be "leaking");
skipping those fits never changes the detector's verdicts, flips or Trends, compared with a
detector that fits every evaluation."""

from __future__ import annotations

import math
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
from memwarden.leak.trend import Trend

BASE = 200 * MiB


class FitsEveryTime(LeakDetector):
    """The reference: every evaluation is fitted."""

    def _cannot_rise(self) -> bool:
        return False


class CountsFits(LeakDetector):
    """Counts the fits that had enough history to give a Trend."""

    fits = 0

    def _fit(self, times: list[float], values: list[float]) -> Trend | None:
        trend = super()._fit(times, values)
        type(self).fits += trend is not None
        return trend


def _startup_then_idle(t: float) -> float:
    """The supervisor's first sample can be its own fork before exec, then `sleep` for good."""
    return 15 * MiB if t < 1.0 else 1.7 * MiB


def _settling(t: float) -> float:
    return BASE + 30 * MiB * math.exp(-t / 120.0)  # only ever falls


def _leak_after_idle(t: float) -> float:
    return BASE + max(0.0, t - 400.0) * 10 * MiB / 60


def _leak_that_stops(t: float) -> float:
    return BASE + 10 * MiB / 60 * min(t, 200.0) if t < 300 else BASE - 50 * MiB


SHAPES: dict[str, tuple[Shape, float]] = {  # shape, noise (bytes)
    "idle": (linear(1.7 * MiB, 0.0), 0.0),
    "startup_then_idle": (_startup_then_idle, 0.0),
    "settling": (_settling, 0.0),
    "page_noise": (linear(BASE, 0.0), 4096.0),
    "noisy_slow_leak": (linear(BASE, MiB / 60), 8 * MiB),
    "leak_after_idle": (_leak_after_idle, 0.0),
    "leak_that_stops": (_leak_that_stops, 0.0),
    "sawtooth": (add(linear(BASE, 0.0), sawtooth(60.0, 40 * MiB)), MiB),
    "sawtooth_leak": (add(linear(BASE, MiB / 60), sawtooth(60.0, 40 * MiB)), MiB),
    "warmup_plateau": (add(linear(BASE, 0.0), plateau(80 * MiB, 60.0)), 0.0),
    "bounded_cache": (add(linear(BASE, 0.0), bounded(MiB, 40 * MiB)), 0.0),
    "batch_spikes": (add(linear(BASE, 0.0), spikes(120.0, 20.0, 100 * MiB)), 0.0),
}

# The supervisor's (100 buckets per window, 2 MiB least growth; the guardian's defaults differ
# in the bucket width only); a short memory, so compaction and the horizon turn a past rise
# into a flat history.
DETECTORS: dict[str, dict[str, float]] = {
    "supervisor": {"resolution_s": 0.6, "min_window_s": 60.0, "min_growth_bytes": 2 * MiB},
    "short_memory": {"resolution_s": 1.0, "max_points": 40, "max_window_s": 300.0,
                     "min_window_s": 60.0, "confirm": 2},
}


def _run(cls: type[LeakDetector], params: dict[str, float], times: list[float],
         values: list[float], read_trend_every: int) -> list[object]:
    """(flip, leaking, trend or None) per sample, the trend read every so many samples (0:
    never), and the last trend."""
    detector = cls(**params)  # type: ignore[arg-type]
    out: list[object] = []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        flip = detector.add(t, v, limit_bytes=1024 * MiB)
        trend = detector.trend if read_trend_every and i % read_trend_every == 0 else None
        out.append((flip, detector.leaking, trend))
    out.append(detector.trend)
    return out


def _read_every(run: list[object], every: int) -> list[object]:
    """A run that read the trend at every sample, as if it had read it every so many."""
    steps = [(flip, leaking, trend if every and i % every == 0 else None)
             for i, (flip, leaking, trend) in enumerate(run[:-1])]  # type: ignore[misc]
    return [*steps, run[-1]]


def _series(name: str, seed: int) -> tuple[list[float], list[float]]:
    shape, noise = SHAPES[name]
    times, values = series(shape, duration_s=600.0, interval_s=1.0, noise_bytes=noise,
                           seed=seed)
    jitter = random.Random(seed)  # the supervisor's samples come ~1 s apart, not exactly
    return [t + jitter.uniform(0.0, 0.05) for t in times], [float(v) for v in values]


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("config", sorted(DETECTORS))
def test_skipping_fits_never_changes_verdicts_or_trends(name: str, config: str) -> None:
    times, values = _series(name, seed=len(name))
    params = DETECTORS[config]
    expected = _run(FitsEveryTime, params, times, values, 1)
    # The trend read now and then (an unfitted history waits across evaluations), and only
    # at the end; at every sample (the guardian reads it so) in the next test.
    for every in (37, 0):
        assert _run(LeakDetector, params, times, values, every) == _read_every(expected, every)


@pytest.mark.parametrize("name", ["idle", "startup_then_idle", "settling", "leak_that_stops"])
def test_a_trend_read_at_every_sample_is_the_fitted_one(name: str) -> None:
    times, values = _series(name, seed=3)
    params = DETECTORS["short_memory"]
    expected = _run(FitsEveryTime, params, times, values, 1)
    assert _run(LeakDetector, params, times, values, 1) == expected


def test_a_leaking_verdict_is_fitted_even_once_its_history_is_flat() -> None:
    """Clearing a leak counts evaluations: a history that went flat while the verdict is
    still "leaking" (its rise forgotten past max_window) is fitted, and clears the same."""
    times, values = series(lambda t: BASE + 10 * MiB / 60 * min(t, 150.0), duration_s=600.0)
    params = {"resolution_s": 1.0, "max_window_s": 100.0, "min_window_s": 60.0, "confirm": 10}
    detector = CountsFits(**params)  # type: ignore[arg-type]
    fitted_flat_while_leaking = 0
    for t, v in zip(times, values, strict=True):
        before = CountsFits.fits
        detector.add(t, v)
        if detector.leaking and detector._cannot_rise() and CountsFits.fits > before:
            fitted_flat_while_leaking += 1
    assert fitted_flat_while_leaking > 0
    floats = [float(v) for v in values]
    assert (_run(LeakDetector, params, times, floats, 0)
            == _read_every(_run(FitsEveryTime, params, times, floats, 1), 0))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_history_that_may_not_be_rising_is_never_suspected_nor_leaking(name: str) -> None:
    """The leak watch skips the fit while may_be_rising is False: the fit it skips would give
    a Trend no watch suspects (p >= 0.5), and the verdict is never "leaking" then."""
    times, values = _series(name, seed=5)
    detector = LeakDetector(**DETECTORS["short_memory"])  # type: ignore[arg-type]
    skipped = 0
    for t, v in zip(times, values, strict=True):
        detector.add(t, v, limit_bytes=1024 * MiB)
        if not detector.may_be_rising:
            skipped += 1
            assert not detector.leaking
            trend = detector.trend
            assert trend is not None and trend.p_value is not None and trend.p_value >= 0.5
    if name == "idle":
        assert skipped > 0  # the case the gate is for does happen
