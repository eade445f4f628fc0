"""The guardian's leak watch: leak events with rate and ETA, attribution, restart before OOM."""

from __future__ import annotations

import logging
import tracemalloc

import pytest

from memwarden.config import GuardConfig
from memwarden.events import Event
from memwarden.guardian import Guardian
from memwarden.hooks import HookRegistry
from memwarden.leak.config import LeakConfig, load_leak_config
from memwarden.leak.deferred import MAX_KEPT, DeferredLeakWatch
from memwarden.leak.simulate import MiB, Shape, add, linear, sawtooth, series
from memwarden.leak.watch import LeakWatch, trace_headroom_shortfall
from memwarden.sample import EffectiveLimit, Sample


def fake_sample(time_s: float, measured_bytes: int, limit_bytes: int) -> Sample:
    return Sample(
        time_s=1_700_000_000.0 + time_s, monotonic_s=time_s, pid=1, tree=None, cgroup=None,
        system=None, pressure=None, cgroup_pressure=None, runtime=None,
        limit=EffectiveLimit(limit_bytes, "budget"), metric="tree_rss",
        measured_bytes=measured_bytes, unavailable=(),
    )


def run_watch(shape: Shape, config: LeakConfig, limit_bytes: int, duration_s: float = 1800.0,
              *, interval_s: float = 2.0, deferred: bool = False
              ) -> tuple[LeakWatch, list[Event], list[int]]:
    """Simulated samples through the guardian's sample listeners, to a LeakWatch built now
    or (deferred) to what memwarden.start() attaches, which builds it when first due."""
    exits: list[int] = []
    guardian = Guardian(GuardConfig(interval_s=interval_s), registry=HookRegistry(),
                        exit_fn=exits.append)
    events: list[Event] = []
    guardian.events.subscribe(events.append)
    front = DeferredLeakWatch(guardian, config) if deferred else LeakWatch(guardian, config).start()
    times, values = series(shape, duration_s=duration_s, interval_s=interval_s,
                           noise_bytes=MiB / 2)
    for t, v in zip(times, values, strict=True):
        sample = fake_sample(t, v, limit_bytes)
        for listener in list(guardian._sample_listeners):  # as Guardian.tick calls them
            listener(sample)
        # Its jobs (a census, a window closing) take milliseconds, not the seconds between two
        # samples, and no sample is judged while one runs: wait for it, as time would.
        assert front.wait_idle()
        if exits:
            break
    watch = front.watch if isinstance(front, DeferredLeakWatch) else front
    assert watch is not None
    assert front.wait_idle()
    front.stop()
    return watch, events, exits


def test_on_sample_listener_runs_every_tick() -> None:
    guardian = Guardian(GuardConfig(), registry=HookRegistry())
    seen: list[Sample] = []
    unsubscribe = guardian.on_sample(seen.append)
    guardian.tick()
    unsubscribe()
    guardian.tick()
    assert len(seen) == 1 and seen[0].measured_bytes


@pytest.mark.parametrize("deferred", [False, True])
def test_leak_event_with_rate_eta_and_attribution(deferred: bool) -> None:
    config = LeakConfig(min_window_s=300.0, trace_window_s=0.0)
    shape = add(linear(200 * MiB, MiB / 60), sawtooth(60.0, 20 * MiB))
    watch, events, exits = run_watch(shape, config, limit_bytes=1024 * MiB, deferred=deferred)
    leaks = [e for e in events if e.kind == "leak"]
    phases = [e.figures["phase"] for e in leaks]
    assert phases == ["detected", "attributed"], [e.message for e in leaks]
    detected = leaks[0]
    # At first detection (5-6 sawtooth periods in) the rate is rough; it settles with time.
    assert 30 * MiB < detected.figures["rate_bytes_per_h"] < 150 * MiB
    assert detected.figures["rate_low_bytes_per_h"] > 0
    final = watch.detector.trend
    assert final is not None and final.rate_bytes_per_h == pytest_approx(60 * MiB, 0.15)
    assert detected.figures["eta_s"] > 0
    assert detected.figures["limit_bytes"] == 1024 * MiB
    assert "floor rising" in detected.message
    attributed = leaks[1]
    assert attributed.figures["classification"] is not None
    assert attributed.figures["advice"]
    assert not exits


@pytest.mark.parametrize("interval_s", [2.0, 0.25])
def test_the_deferred_watch_ends_where_one_built_at_start_does(interval_s: float) -> None:
    # Built at half the window (75 samples at 2 s), or when MAX_KEPT samples are kept first.
    # A flat, noisy series: no baseline census, whose own RSS (subtracted from the series)
    # differs from run to run. The leak and restart cases run both ways too.
    assert 150.0 / 0.25 > MAX_KEPT > 150.0 / 2.0
    config = LeakConfig(min_window_s=300.0, trace_window_s=0.0)
    shape = linear(200 * MiB, 0.0)
    (direct, _, _), (deferred, _, _) = [
        run_watch(shape, config, 1024 * MiB, interval_s=interval_s, deferred=deferred)
        for deferred in (False, True)]
    assert deferred.detector.samples == direct.detector.samples
    assert deferred.detector.series() == direct.detector.series()
    assert deferred.detector.trend == direct.detector.trend is not None
    assert deferred.baseline is direct.baseline is None


def test_the_deferred_watch_hands_over_a_suspected_rise_as_it_stands() -> None:
    # A leak suspected before the hand-over (150 s): the baseline's clock started at the
    # first suspected sample in both; 170 s is before that census is due.
    config = LeakConfig(min_window_s=300.0, trace_window_s=0.0)
    shape = linear(200 * MiB, MiB / 10)
    (direct, _, _), (deferred, _, _) = [
        run_watch(shape, config, 1024 * MiB, duration_s=170.0, deferred=deferred)
        for deferred in (False, True)]
    assert direct._suspected(direct.detector.trend)
    assert direct._first_s is not None and direct._first_s < 150.0  # in the replayed part
    assert deferred._first_s == direct._first_s
    assert deferred.detector.series() == direct.detector.series()
    assert deferred.baseline is direct.baseline is None


def test_a_deferred_watch_stopped_before_it_is_due_takes_no_more_samples() -> None:
    guardian = Guardian(GuardConfig(interval_s=2.0), registry=HookRegistry())
    deferred = DeferredLeakWatch(guardian, LeakConfig(min_window_s=60.0))
    for t in range(10):  # due at 30 s
        for listener in list(guardian._sample_listeners):
            listener(fake_sample(float(t), 200 * MiB, 1024 * MiB))
    deferred.stop()
    assert guardian._sample_listeners == []
    # A tick that was already running its listeners reaches the due sample: the watch is
    # built (its figures replayed) but not subscribed.
    deferred.on_sample(fake_sample(100.0, 200 * MiB, 1024 * MiB))
    assert deferred.watch is not None and deferred.watch.detector.samples == 10
    assert guardian._sample_listeners == []
    assert deferred.wait_idle() and deferred.attribution is None


def test_no_leak_event_on_a_healthy_sawtooth() -> None:
    config = LeakConfig(min_window_s=300.0, trace_window_s=0.0)
    shape = add(linear(200 * MiB, 0.0), sawtooth(60.0, 20 * MiB))
    _, events, _ = run_watch(shape, config, limit_bytes=1024 * MiB)
    assert [e for e in events if e.kind == "leak"] == []


@pytest.mark.parametrize("deferred", [False, True])
def test_restart_before_oom_at_a_quiet_moment(deferred: bool) -> None:
    config = LeakConfig(min_window_s=300.0, trace_window_s=0.0, restart_before_oom=True,
                        restart_margin_s=900.0)
    shape = add(linear(470 * MiB, 2 * MiB / 60), sawtooth(60.0, 10 * MiB))
    watch, events, exits = run_watch(shape, config, limit_bytes=520 * MiB, deferred=deferred)
    assert exits == [75]
    restart = [e for e in events if e.kind == "restart"]
    assert restart and restart[0].figures["reason"] == "memory"
    trend = watch.detector.trend
    assert trend is not None and trend.eta_peak_s is not None
    assert trend.eta_peak_s <= 900.0


def test_leak_config_from_table_and_env() -> None:
    config = load_leak_config(
        {"min_window": "10m", "trace_window": "off"},
        environ={"MEMWARDEN_LEAK_RESTART_BEFORE_OOM": "true",
                 "MEMWARDEN_SNAPSHOT_SIGNAL": "USR1"},
    )
    assert config.min_window_s == 600.0
    assert config.trace_window_s == 0.0
    assert config.restart_before_oom is True
    assert config.snapshot_signal == "USR1"


def pytest_approx(expected: float, rel: float) -> object:
    import pytest

    return pytest.approx(expected, rel=rel)


def test_trace_headroom_shortfall() -> None:
    # Room below the restart threshold must cover 40 % of the figure, and 64 MiB at least.
    assert trace_headroom_shortfall(200 * MiB, 1024 * MiB) is None
    assert trace_headroom_shortfall(200 * MiB, None) is None
    short = trace_headroom_shortfall(200 * MiB, 270 * MiB)
    assert short == "only 70.0 MiB left below 270.0 MiB, and the window may need 80.0 MiB"
    assert "64.0 MiB" in str(trace_headroom_shortfall(20 * MiB, 60 * MiB))


def test_tracemalloc_window_is_skipped_near_the_restart_threshold(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A leak suspected at ~220 MiB and found at ~230 MiB under a 300 MiB limit (restart at
    # 95 % = 285 MiB): a window could add ~90 MiB and cause the very restart it would explain.
    config = LeakConfig(min_window_s=300.0, trace_window_s=0.05)
    shape = add(linear(215 * MiB, MiB / 60), sawtooth(60.0, 4 * MiB))
    with caplog.at_level(logging.WARNING, logger="memwarden"):
        _, events, _ = run_watch(shape, config, limit_bytes=300 * MiB, duration_s=1500.0)
    assert "tracemalloc window skipped (only " in caplog.text
    assert not tracemalloc.is_tracing()
    leaks = [e for e in events if e.kind == "leak"]
    assert [e.figures["phase"] for e in leaks] == ["detected", "attributed"]


GROWN: list[list[int]] = []  # what "leaks" in this process while the simulated series rises


def test_the_culprit_is_found_before_the_verdict_and_published_with_it() -> None:
    # The window opened at suspicion has run when the verdict comes: its culprit is ready, so
    # the attributed event follows the detected one at once, without a window of its own.
    config = LeakConfig(min_window_s=300.0, trace_window_s=5.0)
    guardian = Guardian(GuardConfig(), registry=HookRegistry())
    watch = LeakWatch(guardian, config).start()
    ready_at_verdict: list[bool] = []

    def on_event(event: Event) -> None:
        if event.kind == "leak" and event.figures["phase"] == "detected":
            ready_at_verdict.append(watch._prepared is not None)

    guardian.events.subscribe(on_event)
    events: list[Event] = []
    guardian.events.subscribe(events.append)
    times, values = series(linear(200 * MiB, 10 * MiB / 60), duration_s=900.0, interval_s=2.0,
                           noise_bytes=MiB / 2)
    try:
        for t, v in zip(times, values, strict=True):
            watch.on_sample(fake_sample(t, v, 4096 * MiB))
            GROWN.extend([i] * 10 for i in range(300))
            assert watch.wait_idle()  # each job done before the next sample: deterministic
            if any(e.figures.get("phase") == "attributed" for e in events):
                break
    finally:
        watch.stop()
        GROWN.clear()
    assert ready_at_verdict == [True]
    phases = [e.figures["phase"] for e in events if e.kind == "leak"]
    assert phases == ["detected", "attributed"]
    assert not tracemalloc.is_tracing()


def test_what_memwardens_own_job_keeps_is_taken_out_and_what_it_frees_is_not() -> None:
    guardian = Guardian(GuardConfig(), registry=HookRegistry())
    watch = LeakWatch(guardian, LeakConfig(min_window_s=300.0, trace_window_s=0.0))
    kept: list[bytearray] = []
    watch._own_job(lambda: kept.append(bytearray(b"\x01") * (16 * MiB)))  # pages touched
    assert watch.own_added_bytes >= 15 * MiB  # kept (a baseline census it holds): its own
    counted = watch.own_added_bytes
    watch._own_job(lambda: len(bytearray(b"\x01") * (16 * MiB)))  # made and freed
    assert watch.own_added_bytes - counted < 4 * MiB
    kept.clear()
