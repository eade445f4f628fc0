"""The guardian's leak watch: trend on every sample, attribution when a leak is detected.

`LeakWatch(guardian, config).start()` subscribes to the guardian's samples, feeds a LeakDetector
with the measured series (tree RSS or working set) and another with the Python heap (allocated
blocks). When the rise is first likely it takes a baseline census and opens a bounded
tracemalloc window; when that window has run, it attributes the growth in a worker thread
(census diff, classification, the owner search) before any verdict, so that when the floor is
confirmed rising the `leak` event (rate, interval, ETA) is followed at once by a second one
with the culprit and advice.
With restart_before_oom it restarts at a quiet moment before the peaks reach the limit.
memwarden.start() attaches memwarden.leak.deferred, which installs the snapshot signal and
builds this watch when its first evaluation is due.
"""

from __future__ import annotations

import sys
import threading
import time

from memwarden.events import Event, EventKind
from memwarden.leak.answer import OwnBytesNote
from memwarden.leak.detector import LeakDetector
from memwarden.logger import log
from memwarden.units import format_bytes, format_duration, format_rate

# Not `from typing import ...` at run time: typing costs ~1.6 MiB.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from memwarden.guardian import Guardian
    from memwarden.leak.config import LeakConfig
    from memwarden.leak.trend import Trend
    from memwarden.sample import Sample

SUSPECT_P = 0.05  # a baseline census is taken once the rise is this likely
# The guardian's own memory grows ~1 MiB while the detector's history fills (its first
# minutes), then stays flat: a leak verdict needs more growth than that.
MIN_LEAK_GROWTH_BYTES = 2 * 2**20
MIN_SUSPECT_GROWTH_BYTES = 512 * 1024  # a smaller rise (memwarden's own warm-up) is no suspect
BASELINE_MAX_AGE_S = 600.0  # an older baseline is taken again while the rise is suspected
QUIET_FRACTION = 0.25  # "quiet": within the lowest quarter of the sawtooth swing
# A tracemalloc window costs memory in proportion to the heap: its traces, then the snapshot
# pair diffed at the end (seen: RSS 181 -> 254 MiB, +40 %, when the window closed). It is only
# opened with that much room left below the restart threshold, and at least this much.
TRACE_HEADROOM_FRACTION = 0.4
MIN_TRACE_HEADROOM_BYTES = 64 * 2**20
TRACE_BUDGET_FRACTION = 0.1  # tracemalloc's own memory may reach this share of the figure
MIN_TRACE_BUDGET_BYTES = 16 * 2**20
TYPE_PAIR_WINDOW_S = 20.0  # the type census pair's window when tracemalloc's is off: its default


def over_trace_budget(sample: Sample) -> bool:
    """tracemalloc's own tables have outgrown the window's budget: a tenth of the measured
    figure, 16 MiB at least."""
    tracemalloc = sys.modules.get("tracemalloc")
    if tracemalloc is None or not tracemalloc.is_tracing():
        return False
    budget = max(MIN_TRACE_BUDGET_BYTES,
                 int(TRACE_BUDGET_FRACTION * (sample.measured_bytes or 0)))
    return bool(tracemalloc.get_tracemalloc_memory() > budget)


def trace_headroom_shortfall(measured_bytes: int | None, ceiling_bytes: int | None) -> str | None:
    """Why a tracemalloc window would risk the restart it is meant to explain, or None."""
    if measured_bytes is None or ceiling_bytes is None:
        return None
    need = max(MIN_TRACE_HEADROOM_BYTES, int(measured_bytes * TRACE_HEADROOM_FRACTION))
    room = ceiling_bytes - measured_bytes
    if room >= need:
        return None
    return (f"only {format_bytes(max(0, room))} left below {format_bytes(ceiling_bytes)}, and "
            f"the window may need {format_bytes(need)}")


def trend_figures(trend: Trend) -> dict[str, Any]:
    return {
        "rate_bytes_per_h": trend.rate_bytes_per_h,
        "rate_low_bytes_per_h": trend.rate_low_bytes_per_h,
        "rate_high_bytes_per_h": trend.rate_high_bytes_per_h,
        "p_value": trend.p_value,
        "eta_s": trend.eta_s,
        "eta_peak_s": trend.eta_peak_s,
        "floor_bytes": trend.intercept_bytes,
        "window_s": trend.window_s,
    }


def describe_trend(trend: Trend, metric: str) -> str:
    per_s = trend.rate_bytes_per_h / 3600.0  # in the unit the report uses: by magnitude
    rate = format_rate(per_s, signed=False)
    low = format_rate(max(0.0, trend.rate_low_bytes_per_h) / 3600.0, like=per_s, signed=False)
    high = format_rate(trend.rate_high_bytes_per_h / 3600.0, like=per_s, signed=False)
    eta = (f", reaches the limit in {format_duration(trend.eta_s)}"
           if trend.eta_s is not None else "")
    return f"leak: {metric} floor rising {rate} ({low} to {high}){eta}"


class LeakWatch:
    def __init__(self, guardian: Guardian, config: LeakConfig) -> None:
        self.guardian = guardian
        self.config = config
        # Buckets no finer than the tick, and ~100 of them over the minimum window.
        resolution_s = max(guardian.config.interval_s, config.min_window_s / 100)
        self.detector = LeakDetector(resolution_s=resolution_s, min_window_s=config.min_window_s,
                                     min_growth_bytes=MIN_LEAK_GROWTH_BYTES)
        self.heap = LeakDetector(resolution_s=resolution_s, min_window_s=config.min_window_s,
                                 min_growth_bytes=1000)
        self.baseline: dict[str, Any] | None = None
        self.attribution: Any = None  # the latest Attribution, once one finished
        self._job: threading.Thread | None = None
        self._stop = threading.Event()
        self._unsubscribe: Any = None
        self._restarting = False
        self._first_s: float | None = None
        self._baseline_s: float | None = None
        # A window opened at suspicion: (attribution, sample time, monotonic start).
        self._early: tuple[Any, float, float] | None = None
        # Its attribution, finished before the verdict: (attribution, monotonic end).
        self._prepared: tuple[Any, float] | None = None
        # RSS memwarden's own work added (the baseline censuses, the watch's own loading):
        # subtracted from the series.
        self.own_added_bytes = 0
        self._own_note = OwnBytesNote()  # the same figure for `memwarden run`, if it asked
        self._own_job_tables: int | None = None  # a window's tables, while a job frees them

    def start(self) -> LeakWatch:
        self._unsubscribe = self.guardian.on_sample(self.on_sample)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._job is not None:
            self._job.join(10.0)
        self._drop_early()

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Wait for a running baseline/attribution job; True when none runs any more."""
        job = self._job
        if job is not None:
            job.join(timeout_s)
        return job is None or not job.is_alive()

    # -- per sample (guardian thread) ---------------------------------------------------------
    def replay(self, times_s: Iterable[float], measured_bytes: Iterable[int],
               blocks: Iterable[int], limits_bytes: Iterable[int | None]) -> None:
        """The figures of samples taken before this watch was built (memwarden.leak.deferred),
        fed as on_sample feeds them. Only the history can come of them: they span less than
        half of min_window, before which no baseline is due and no verdict can flip."""
        for now_s, measured, count, limit in zip(times_s, measured_bytes, blocks, limits_bytes,
                                                 strict=True):
            self.heap.add(now_s, count)
            self.detector.add(now_s, measured, limit_bytes=limit)
            if self.detector.may_be_rising and self._suspected(self.detector.trend):
                self._baseline_due(now_s)  # starts its clock, as on_sample does; not due yet

    def on_sample(self, sample: Sample) -> None:
        if sample.measured_bytes is None:
            return
        now_s = sample.monotonic_s
        blocks = sample.runtime.allocated_blocks if sample.runtime else sys.getallocatedblocks()
        self.heap.add(now_s, blocks)
        # memwarden's own memory (its census, a tracemalloc window) is not the program's
        # growth: without this, suspecting a leak would make one.
        own = self._own_bytes()
        flip = None if self._own_job_tables is not None else self.detector.add(
            now_s, sample.measured_bytes - own, limit_bytes=sample.limit.limit_bytes)
        self._tell_supervisor(own)
        # A history that never rises is not fitted on every sample: it cannot be suspected,
        # and it is never "leaking" (a leaking one is always fitted), so no restart needs it.
        trend = self.detector.trend if self.detector.may_be_rising else None
        suspected = self._suspected(trend)
        if suspected and self._baseline_due(now_s):
            self._baseline_s = now_s
            self._spawn(lambda: self._take_baseline(sample))
        elif not suspected and not self.detector.leaking:
            # The rise it was found for has faded: a verdict later is another rise.
            self._prepared = None
        early = self._early
        if (early is not None and not self.detector.leaking
                and (now_s - early[1] >= self._window_s()
                     or not (early[0].tracing or early[0].types_due))):
            # The window has run (or spent its budget): the culprit is found now, not after
            # the verdict, so the verdict's line can name it.
            self._spawn(lambda: self._prepare(sample))
        elif early is not None and early[0].tracing and over_trace_budget(sample):
            self._spawn(early[0].close_window)
        if flip is not None:
            self._on_flip(flip, sample)
        if self.config.restart_before_oom and self.detector.leaking and trend is not None:
            self._maybe_restart(trend, sample)

    @staticmethod
    def _suspected(trend: Trend | None) -> bool:
        """The rise is likely enough, and large enough, for a baseline census."""
        return (trend is not None and trend.p_value is not None
                and trend.p_value < SUSPECT_P
                and trend.rate_bytes_per_h * trend.window_s / 3600 >= MIN_SUSPECT_GROWTH_BYTES)

    def _tell_supervisor(self, own_bytes: int) -> None:
        try:
            self._own_note.update(own_bytes)
        except OSError as err:
            self._own_note.disable()
            log.warning("memwarden: could not tell the supervisor memwarden's own memory: %s",
                        err)

    def _own_bytes(self) -> int:
        own = self.own_added_bytes
        if self._own_job_tables is not None:
            return own + self._own_job_tables
        tracemalloc = sys.modules.get("tracemalloc")
        if self._early is not None and tracemalloc is not None and tracemalloc.is_tracing():
            own += tracemalloc.get_tracemalloc_memory()
        return own

    def _baseline_due(self, now_s: float) -> bool:
        """Not during start-up (a picture of caches warming up would blame them), and again
        when the last one is old: the diff must span the leak, not the warm-up."""
        if self.detector.leaking:
            return False
        if self._first_s is None:
            self._first_s = now_s
        if now_s - self._first_s < self.config.min_window_s / 2:
            return False
        return self._baseline_s is None or now_s - self._baseline_s > BASELINE_MAX_AGE_S

    def _on_flip(self, trend: Trend, sample: Sample) -> None:
        if not trend.leaking:
            message = f"leak: {sample.metric} floor no longer rising ({trend.reason})"
            self._publish(message, {**trend_figures(trend), "phase": "cleared"}, sample)
            return
        message = describe_trend(trend, sample.metric)
        log.warning("memwarden: pid %s %s", sample.pid, message)
        self._publish(message, {**trend_figures(trend), "phase": "detected"}, sample)
        self._spawn(lambda: self._attribute(trend, sample), chain=True)

    def _publish(self, message: str, figures: dict[str, Any], sample: Sample) -> None:
        self.guardian.events.publish(Event(
            kind=EventKind.LEAK, time_s=time.time(), message=message, tier=self.guardian.tier.label,
            figures={**figures, "metric": sample.metric, "limit_bytes": sample.limit.limit_bytes},
        ))

    def _maybe_restart(self, trend: Trend, sample: Sample) -> None:
        eta = trend.eta_peak_s if trend.eta_peak_s is not None else trend.eta_s
        if self._restarting or eta is None or eta > self.config.restart_margin_s:
            return
        # Quiet moment: near the floor of the sawtooth, i.e. no burst of work in flight.
        quiet_below = trend.intercept_bytes + QUIET_FRACTION * trend.swing_bytes
        if sample.measured_bytes is None or sample.measured_bytes > quiet_below:
            return
        self._restarting = True
        log.warning("memwarden: leak would reach the limit in %s: restarting now, at a quiet "
                    "moment", format_duration(eta))
        self.guardian._restart(sample)

    # -- worker thread ------------------------------------------------------------------------
    def _spawn(self, job: Any, *, chain: bool = False) -> None:
        """Run job in a worker thread. A job already running: skipped, or with chain=True
        (attribution must not be lost behind a baseline census) run after it."""
        previous = self._job
        if previous is not None and previous.is_alive() and not chain:
            return

        def run() -> None:
            from memwarden.leak.own import run_noting_imports

            if previous is not None:
                previous.join()
            run_noting_imports(job)

        self._job = threading.Thread(target=run, name="memwarden-leak", daemon=True)
        self._job.start()

    def _take_baseline(self, sample: Sample) -> None:
        """The 'before' census, and the tracemalloc window opened now, while the rise is only
        likely: at the verdict it has already seen the growth, so the culprit follows at once."""
        from memwarden.leak.attribute import Attribution, census_document

        self._drop_early()
        window = self.config.trace_window_s > 0 and self._trace_shortfall(sample) is None
        # The owner walk alone (sliced), unless asked for, or no window will witness the
        # growth: then the type census's bytes will.
        types = self.config.full_census or not window

        def census() -> None:
            self.baseline = census_document(types=types)

        self._own_job(census)  # its imports and the baseline it keeps are memwarden's
        if not window:
            return
        attribution = Attribution(trace=True, types=self.config.full_census)
        attribution.begin(self.baseline)
        self._early = (attribution, sample.monotonic_s, time.monotonic())

    def _drop_early(self) -> None:
        """Close an early window no verdict came for (tracemalloc must not stay on)."""
        early, self._early = self._early, None
        if early is not None:
            early[0].cancel()

    def _trace_shortfall(self, sample: Sample) -> str | None:
        return trace_headroom_shortfall(sample.measured_bytes, self._ceiling_bytes(sample))

    def _prepare(self, sample: Sample) -> None:
        """Attribute the growth the early window saw, ahead of the verdict. Whatever RSS that
        leaves behind (the second census, lazy imports, tables not given back) is
        memwarden's, or a healthy program could be judged leaking."""
        early = self._early
        if early is None:
            return
        attribution, started = early[0], early[2]
        if attribution.types_due:
            self._own_job(attribution.finish_types)
        else:
            self._own_job(lambda: self._finish(attribution, self.detector.trend, started))
        if attribution.types_due:  # its type census pair runs over a window of its own
            self._early = (attribution, sample.monotonic_s, time.monotonic())
            return
        self._early = None
        self._prepared = (attribution, time.monotonic())

    def _own_job(self, job: Any) -> None:
        """Run job (a census, a window closing) and count the RSS it leaves behind as
        memwarden's, less the program's own growth meanwhile (at the trend's rate), so the
        judged series goes on where it was: a step down would read as a sawtooth's drop and
        hold a verdict back, a step up as growth. No sample is judged while it runs: midway,
        its census and a window's tables being given back make a rise or a dip that would
        read the same way."""
        from memwarden.readers.proc import self_rss_bytes

        live = self._own_bytes() - self.own_added_bytes
        self._own_job_tables = live
        try:
            started = time.monotonic()
            before = self_rss_bytes()
            job()
            after = self_rss_bytes()
            if before is not None and after is not None:
                trend = self.detector.trend
                rate = 0.0 if trend is None else max(0.0, trend.rate_bytes_per_h / 3600.0)
                program = rate * (time.monotonic() - started)
                self.own_added_bytes += max(0, int(after - (before - live) - program))
        finally:
            self._own_job_tables = None

    def _finish(self, attribution: Any, trend: Trend | None, started: float) -> None:
        elapsed_s = time.monotonic() - started
        if self.config.trace_window_s <= 0:
            elapsed_s = 60.0  # no window: judge the trim against a minute of growth
        expected = (None if trend is None or trend.rate_bytes_per_h <= 0
                    else int(trend.rate_bytes_per_h / 3600.0 * elapsed_s))
        attribution.finish(heap_trend=self.heap.trend, expected_growth_bytes=expected)

    def _attribute(self, trend: Trend, sample: Sample) -> None:
        from memwarden.leak.attribute import Attribution

        prepared, self._prepared = self._prepared, None
        # Found before the verdict, within min_window: the rise confirmed now (an older one may
        # have been a warm-up, and the leak a later rise).
        if (prepared is not None and prepared[0].found_growth
                and time.monotonic() - prepared[1] <= self.config.min_window_s):
            self._publish_attribution(prepared[0], trend, sample)
            return
        early, self._early = self._early, None
        if early is not None:
            attribution, started = early[0], early[2]
        else:
            trace = self.config.trace_window_s > 0
            shortfall = self._trace_shortfall(sample)
            if trace and shortfall is not None:
                trace = False
                log.warning("memwarden: pid %s tracemalloc window skipped (%s): attributing by "
                            "the owner census alone", sample.pid, shortfall)
            attribution = Attribution(trace=trace, types=self.config.full_census)
            attribution.begin(self.baseline)
            started = time.monotonic()
        self._wait_window(attribution, started, sample)
        if not attribution.types_due:  # else an early one, finished, in its type census pair
            self._finish(attribution, trend, started)
            started = time.monotonic()
            self._wait_window(attribution, started, sample)
        attribution.finish_types()
        self._publish_attribution(attribution, trend, sample)

    def _window_s(self) -> float:
        """A tracemalloc window's length, and a type census pair's."""
        return (self.config.trace_window_s if self.config.trace_window_s > 0
                else TYPE_PAIR_WINDOW_S)

    def _wait_window(self, attribution: Any, started: float, sample: Sample) -> None:
        """Until the window open since started has run: tracemalloc's (closed early once its
        budget is spent: what it saw is enough) or the type census pair's."""
        while not self._stop.is_set() and (attribution.tracing or attribution.types_due):
            left_s = started + self._window_s() - time.monotonic()
            if left_s <= 0:
                break
            self._stop.wait(min(1.0, left_s))
            if attribution.tracing and over_trace_budget(sample):
                attribution.close_window()

    def _publish_attribution(self, attribution: Any, trend: Trend, sample: Sample) -> None:
        self.attribution = attribution
        figures = attribution.figures()
        message = (f"{describe_trend(trend, sample.metric)}; culprit: {figures['culprit']}; "
                   f"{figures['classification']}: {figures['advice']}")
        log.warning("memwarden: pid %s %s", sample.pid, message)
        self._publish(message, {**trend_figures(trend), **figures, "phase": "attributed"},
                      sample)
        self._answer_supervisor({**trend_figures(trend), **figures})

    def _answer_supervisor(self, figures: dict[str, Any]) -> None:
        from memwarden.leak.answer import write_answer

        try:
            write_answer(figures)
        except OSError as err:
            log.warning("memwarden: could not give the supervisor the leak's culprit: %s", err)


    def _ceiling_bytes(self, sample: Sample) -> int | None:
        """The restart threshold (else the limit) the window must stay below."""
        limit = sample.limit.limit_bytes
        restart = self.guardian.config.restart
        threshold = restart.resolve(limit) if restart is not None else None
        return threshold if threshold is not None else limit

