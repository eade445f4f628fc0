"""The leak watch as `memwarden.start()` attaches it: the first samples' figures kept in flat
arrays, the detector, its fit and attribution (memwarden.leak.watch) loaded once an
evaluation that can matter is due.

Until then nothing can come of the figures: a leak verdict needs `min_window` of history and
a baseline census half of it. So the guardian's start loads neither the fit (trend, stats)
nor logging. When half the window has passed (or MAX_KEPT samples are kept, whichever comes
first) the LeakWatch is built, the kept figures are replayed into it, and it goes on from
that sample as if it had watched from the first.
"""

from __future__ import annotations

import sys
from array import array

from memwarden.leak.trigger import install_snapshot_signal
from memwarden.logger import log

# Not `from typing import ...` at run time: the guardian's start loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from memwarden.guardian import Guardian
    from memwarden.leak.attribute import Attribution
    from memwarden.leak.config import LeakConfig
    from memwarden.leak.watch import LeakWatch
    from memwarden.sample import Sample

MAX_KEPT = 512  # samples kept before the LeakWatch loads anyway: 4 KiB per figure at most
NO_LIMIT = -1  # a sample without a limit, in the int64 array


class DeferredLeakWatch:
    """Stands for the LeakWatch from the first sample; `watch` is that LeakWatch once built."""

    def __init__(self, guardian: Guardian, config: LeakConfig) -> None:
        self.guardian = guardian
        self.config = config
        self.watch: LeakWatch | None = None
        self._times_s = array("d")
        self._measured_bytes = array("q")
        self._blocks = array("q")
        self._limits_bytes = array("q")
        self._stopped = False
        self._unsubscribe = guardian.on_sample(self.on_sample)

    @property
    def attribution(self) -> Attribution | None:
        """The latest finished attribution (None before the watch loads)."""
        return self.watch.attribution if self.watch is not None else None

    def on_sample(self, sample: Sample) -> None:
        """Keep the figures (guardian thread); from the sample that is due, hand over."""
        if sample.measured_bytes is None:
            return  # as the LeakWatch does: no figure, nothing to keep
        times = self._times_s
        if (times and (sample.monotonic_s - times[0] >= self.config.min_window_s / 2
                       or len(times) >= MAX_KEPT)):
            watch = self._load()
            if watch is not None:
                watch.on_sample(sample)
            return
        times.append(sample.monotonic_s)
        self._measured_bytes.append(sample.measured_bytes)
        self._blocks.append(sample.runtime.allocated_blocks if sample.runtime
                            else sys.getallocatedblocks())
        limit = sample.limit.limit_bytes
        self._limits_bytes.append(NO_LIMIT if limit is None else limit)

    def _load(self) -> LeakWatch | None:
        """Build the LeakWatch, replay the kept figures into it, and let it take the samples
        from now on (the guardian's tick runs a copy of its listeners: no sample twice).
        A failure is logged once and the watch goes, as a failure to attach it would."""
        self._unsubscribe()
        times_s, measured_bytes, blocks, limits_bytes = (
            self._times_s, self._measured_bytes, self._blocks, self._limits_bytes)
        self._times_s, self._measured_bytes = array("d"), array("q")
        self._blocks, self._limits_bytes = array("q"), array("q")
        try:
            from memwarden.readers.proc import self_rss_bytes

            before = self_rss_bytes()
            from memwarden.leak.watch import LeakWatch

            after = self_rss_bytes()
            watch = LeakWatch(self.guardian, self.config)
            if before is not None and after is not None:
                # Its modules are memwarden's memory, not the program's growth: a step in the
                # series just when the watch starts to judge it.
                watch.own_added_bytes += max(0, after - before)
            watch.replay(times_s, measured_bytes, blocks,
                         [None if limit == NO_LIMIT else limit for limit in limits_bytes])
        except Exception:
            log.exception("memwarden: leak watch not started")
            return None
        self.watch = watch
        if self._stopped:  # stop() came from another thread while it loaded
            return None
        watch.start()
        return watch

    def stop(self) -> None:
        self._stopped = True
        self._unsubscribe()
        if self.watch is not None:
            self.watch.stop()

    close = stop  # as an add-on of the guardian (Guardian.attach)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Wait for a running baseline/attribution job; True when none runs any more."""
        return self.watch.wait_idle(timeout_s) if self.watch is not None else True


def attach(guardian: Guardian, config: LeakConfig | None = None) -> DeferredLeakWatch | None:
    """Start the leak watch on a guardian and install the snapshot signal; None when the
    leak watch is turned off (`[leak] enabled = false` / MEMWARDEN_LEAK_ENABLED=off)."""
    if config is None:
        from memwarden.settings import load

        config = guardian.settings.leak() if guardian.settings is not None else load().leak()
    install_snapshot_signal(config.snapshot_signal, directory=config.snapshot_dir)
    if not config.enabled:
        return None
    return DeferredLeakWatch(guardian, config)
