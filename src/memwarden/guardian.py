"""The in-process guardian: a daemon thread that samples, applies the policy and acts.

`start()` imports only what sampling needs. Actions (gc, malloc_trim through ctypes, hooks),
logging, the trace writer and webhook alerts load on first use; tests/guardian checks it.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from memwarden.child import shutdown_on_sigterm
from memwarden.config import GuardConfig, load_guard_config
from memwarden.events import Event, EventBus, EventKind
from memwarden.exitcodes import EXIT_MEMORY_RESTART
from memwarden.hooks import REGISTRY, HookRegistry
from memwarden.logger import log
from memwarden.policy import PolicyConfig, PolicyState, Tier, Transition, evaluate
from memwarden.record import record
from memwarden.sample import Sample, Sampler
from memwarden.units import format_bytes, format_duration

FULL_EVERY_S = 10.0  # memory.stat, meminfo and PSI: their staleness is at most this

# Not `from typing import ...` at run time: typing costs ~0.4 MB. mypy treats it as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, Protocol, TypeVar

    from memwarden.actions import StepResult
    from memwarden.alerts.config import AlertsConfig
    from memwarden.leak.config import LeakConfig
    from memwarden.settings import LoadedConfig

    class Closable(Protocol):
        def close(self) -> object: ...

    C = TypeVar("C", bound=Closable)


@record
class GuardianStatus:
    sample: Sample
    tier: Tier
    thresholds_bytes: dict[Tier, int | None]
    running: bool

    @property
    def limit_bytes(self) -> int | None:
        return self.sample.limit.limit_bytes

    @property
    def headroom_bytes(self) -> int | None:
        return self.sample.headroom_bytes

    def to_json(self) -> dict[str, Any]:
        s = self.sample
        f = s.figures()
        return {
            "tier": self.tier.label,
            "running": self.running,
            "time": s.time_s,
            "pid": s.pid,
            **{key: f[key] for key in ("metric", "measured_bytes", "limit_bytes", "limit_source")},
            "headroom_bytes": s.headroom_bytes,
            "usage_ratio": s.usage_ratio,
            "thresholds_bytes": {t.label: b for t, b in self.thresholds_bytes.items()},
            **{key: f[key] for key in ("tree_rss_bytes", "working_set_bytes")},
            "unavailable": list(s.unavailable),
        }


def _transition_message(t: Transition, sample: Sample) -> str:
    direction = "up" if t.rising else "down"
    if t.critical_for_s is not None:
        return (f"memory tier {t.previous.label} -> {t.current.label} (up): critical for "
                f"{format_duration(t.critical_for_s)} (critical_timeout), {sample.metric} "
                f"{format_bytes(t.measured_bytes)}, limit {format_bytes(t.limit_bytes)}")
    return (
        f"memory tier {t.previous.label} -> {t.current.label} ({direction}): "
        f"{sample.metric} {format_bytes(t.measured_bytes)}, "
        f"threshold {format_bytes(t.threshold_bytes)}, limit {format_bytes(t.limit_bytes)} "
        f"({sample.limit.source})"
    )


class Guardian:
    """One per process; build it with `memwarden.start()`."""

    def __init__(
        self,
        config: GuardConfig,
        *,
        registry: HookRegistry = REGISTRY,
        exit_status: int = EXIT_MEMORY_RESTART,
        exit_fn: Callable[[int], None] | None = None,  # default: actions.exit_process
        sampler: Sampler | None = None,
    ) -> None:
        self.config = config
        self.policy = config.policy()
        self.registry = registry
        self.events = EventBus()
        self.exit_status = exit_status
        self._exit_fn = exit_fn if exit_fn is not None else _exit_process
        self._sampler = sampler or Sampler(
            pid=os.getpid(),
            budget_bytes=config.limit_bytes,
            metric=config.metric,
            include_runtime=True,
        )
        self._state = PolicyState()
        self._full_due_s = 0.0  # the next tick that re-reads memory.stat, meminfo and PSI
        self._latest: Sample | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trace: Any = None
        self._checkpoints_due: dict[str, float] = {}
        # memwarden.leak.deferred.DeferredLeakWatch (its LeakWatch loads when first due)
        self.leak_watch: Any = None
        self.alerts: Any = None  # memwarden.alerts.AlertHandle when a webhook is configured
        self._addons: list[Closable] = []  # closed by stop(), the last attached first
        self.settings: LoadedConfig | None = None  # what configured it, read once by start()
        self._sample_listeners: list[Callable[[Sample], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Guardian:
        if self._thread is not None and self._thread.is_alive():
            return self
        if self.config.trace_path is not None:
            from memwarden.trace import TraceWriter

            self._trace = TraceWriter(self.config.trace_path, os.getpid())
            self.events.subscribe(self._trace_event)
        self._stop.clear()
        self.tick()  # a first sample before returning, so status() is never empty
        self._thread = threading.Thread(target=self._run, name="memwarden-guardian", daemon=True)
        self._thread.start()
        sample = self._latest
        # Without logging imported nobody configured a handler, and an INFO record would be
        # dropped (logging's last resort prints warnings only): skip it and the import.
        if "logging" in sys.modules:
            log.info(
                "memwarden: guarding pid %d every %ss, limit %s (%s), metric %s",
                os.getpid(),
                self.config.interval_s,
                format_bytes(sample.limit.limit_bytes if sample else None),
                sample.limit.source if sample else "-",
                sample.metric if sample else "-",
            )
        return self

    def attach(self, addon: C) -> C:
        """Something that lives as long as this guardian (the leak watch, alerts): stop()
        closes it, the last attached first."""
        self._addons.append(addon)
        return addon

    def stop(self, timeout_s: float = 5.0) -> None:
        while self._addons:
            addon = self._addons.pop()
            try:
                addon.close()
            except Exception:  # one add-on failing to close must not keep the others open
                log.exception("memwarden: closing %r failed", addon)
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self._thread = None
        if self._trace is not None:
            self._trace.close()
            self._trace = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.config.interval_s):
            try:
                self.tick()
            except Exception:  # the guardian must never take the app down with it
                log.exception("memwarden: guardian tick failed")

    # -- one tick ----------------------------------------------------------------------------
    def tick(self) -> Sample:
        # Between full samples the tree and the cgroup's usage by kept fds: memory.stat,
        # meminfo and PSI cost most of a tick and no decision of the policy waits for them.
        now_s = time.monotonic()
        full = now_s >= self._full_due_s
        sample = self._sampler.sample(refresh=full)
        if full:
            self._full_due_s = now_s + FULL_EVERY_S
        with self._lock:
            self._latest = sample
            previous = self._state
        transition = None
        if sample.measured_bytes is not None:
            state, transition = evaluate(
                previous,
                measured_bytes=sample.measured_bytes,
                limit_bytes=sample.limit.limit_bytes,
                now_s=sample.monotonic_s,
                config=self.policy,
            )
            with self._lock:
                self._state = state
                if self is _current:
                    _note_tier(state.tier)
        if self._trace is not None:
            from memwarden.trace import sample_record

            thresholds = self.policy.thresholds_bytes(sample.limit.limit_bytes)
            self._trace.write(sample_record(sample, self.tier, thresholds))
        if transition is not None:
            self._on_transition(transition, sample)
        self._run_checkpoints(sample.monotonic_s)
        for listener in list(self._sample_listeners):
            try:
                listener(sample)
            except Exception:  # a failing listener (e.g. leak watch) must not stop the guardian
                log.exception("memwarden: sample listener %r failed", listener)
        return sample

    def on_sample(self, listener: Callable[[Sample], None]) -> Callable[[], None]:
        """Call listener(sample) after every tick (in the guardian thread); returns unsubscribe."""
        self._sample_listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._sample_listeners:
                self._sample_listeners.remove(listener)

        return unsubscribe

    def _on_transition(self, transition: Transition, sample: Sample) -> None:
        message = _transition_message(transition, sample)
        if transition.rising:
            log.warning("memwarden: %s", message)
        else:
            log.info("memwarden: %s", message)
        self.events.publish(
            Event(
                kind=EventKind.TIER,
                time_s=sample.time_s,
                message=message,
                tier=transition.current.label,
                figures={
                    "previous": transition.previous.label,
                    "measured_bytes": transition.measured_bytes,
                    "threshold_bytes": transition.threshold_bytes,
                    "limit_bytes": transition.limit_bytes,
                    "metric": sample.metric,
                },
            )
        )
        if not transition.rising:
            return
        if transition.current >= Tier.CRITICAL:
            self.cleanup(transition.current)
        if transition.current == Tier.RESTART:
            self._restart(sample)

    def cleanup(self, tier: Tier = Tier.CRITICAL) -> list[StepResult]:
        """gc, pressure hooks, malloc_trim; each step logged with the bytes it gave back."""
        from memwarden import actions

        steps = actions.cleanup(self.registry, tier)
        for step in steps:
            log.warning(
                "memwarden: %s %s, %s%s",
                step.step,
                "ok" if step.ok else "FAILED",
                actions.gave_back(step.freed_bytes),
                f" ({step.detail})" if step.detail and not step.ok else "",
            )
            self.events.publish(
                Event(
                    kind=EventKind.ACTION,
                    time_s=time.time(),
                    message=f"{step.step} {actions.gave_back(step.freed_bytes)}",
                    tier=tier.label,
                    figures={"step": step.step, "freed_bytes": step.freed_bytes, "ok": step.ok},
                )
            )
        return steps

    def _restart(self, sample: Sample) -> None:
        log.warning(
            "memwarden: restart tier reached (%s %s of limit %s): running %d shutdown hook(s), "
            "then exiting with status %d",
            sample.metric,
            format_bytes(sample.measured_bytes),
            format_bytes(sample.limit.limit_bytes),
            len(self.registry.shutdown_hooks()),
            self.exit_status,
        )
        self.events.publish(
            Event(
                kind=EventKind.RESTART,
                time_s=time.time(),
                message=f"exiting with status {self.exit_status} for a memory restart",
                tier=Tier.RESTART.label,
                figures={"reason": "memory", "measured_bytes": sample.measured_bytes,
                         "limit_bytes": sample.limit.limit_bytes},
            )
        )
        from memwarden.actions import run_shutdown_hooks

        run_shutdown_hooks(self.registry)
        if self._trace is not None:
            self._trace.close()
            self._trace = None
        self._stop.set()
        self._exit_fn(self.exit_status)

    def _run_checkpoints(self, now_s: float) -> None:
        for hook in self.registry.shutdown_hooks():
            if hook.every_s is None:
                continue
            due = self._checkpoints_due.setdefault(hook.name, now_s + hook.every_s)
            if now_s >= due:
                self._checkpoints_due[hook.name] = now_s + hook.every_s
                try:
                    hook.run()
                except Exception:
                    log.exception("memwarden: checkpoint %s failed", hook.name)

    def _trace_event(self, event: Event) -> None:
        if self._trace is not None:
            from memwarden.trace import event_record

            self._trace.write(event_record(event))

    # -- queries -----------------------------------------------------------------------------
    @property
    def tier(self) -> Tier:
        # No lock: one attribute read is atomic, and the web middleware asks on every request.
        return self._state.tier

    def status(self) -> GuardianStatus:
        with self._lock:
            sample = self._latest
            tier = self._state.tier
        if sample is None:  # not started: look, but never act on a status query
            return peek_status(self._sampler, self.policy)
        return GuardianStatus(
            sample=sample,
            tier=tier,
            thresholds_bytes=self.policy.thresholds_bytes(sample.limit.limit_bytes),
            running=self.running,
        )


def peek_status(sampler: Sampler, policy: PolicyConfig) -> GuardianStatus:
    """One sample and the tier the pure policy gives it; no action runs."""
    sample = sampler.sample()
    state = PolicyState()
    if sample.measured_bytes is not None:
        state, _ = evaluate(state, measured_bytes=sample.measured_bytes,
                            limit_bytes=sample.limit.limit_bytes, now_s=sample.monotonic_s,
                            config=policy)
    return GuardianStatus(sample=sample, tier=state.tier,
                          thresholds_bytes=policy.thresholds_bytes(sample.limit.limit_bytes),
                          running=False)


_current: Guardian | None = None
_current_lock = threading.Lock()
_oneoff: tuple[GuardConfig, Sampler] | None = None
# current_tier() >= critical, kept by the current guardian as it evaluates: the web
# middleware reads it per request as one module attribute (no call).
memory_critical = False


def _note_tier(tier: Tier) -> None:
    """Under the current guardian's lock, so the flag follows its latest state."""
    global memory_critical
    memory_critical = tier >= Tier.CRITICAL


def oneoff_status() -> GuardianStatus:
    """Status without a running guardian: one sample of this process, no action (a status
    query must never clean up or exit). The sampler is kept while the config is unchanged."""
    global _oneoff
    config = load_guard_config()
    with _current_lock:
        if _oneoff is None or _oneoff[0] != config:
            sampler = Sampler(pid=os.getpid(), budget_bytes=config.limit_bytes,
                              metric=config.metric, include_runtime=True)
            _oneoff = (config, sampler)
        sampler = _oneoff[1]
        return peek_status(sampler, config.policy())


def start(
    *,
    limit: str | int | None = None,
    warn: str | None = None,
    critical: str | None = None,
    restart: str | None = None,
    interval: str | float | None = None,
    metric: str | None = None,
    trace: str | Path | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    settings: LoadedConfig | None = None,
) -> Guardian:
    """Start (once) the process's guardian; later calls return the running one.

    The config file and environment are read once (or `settings`, already read, is used) and
    the same object configures the guardian, its leak watch and its alerts. Every bad value
    raises ConfigError before anything starts."""
    global _current
    with _current_lock:
        if _current is not None and _current.running:
            return _current
        arguments = {
            "limit": limit,
            "warn": warn,
            "critical": critical,
            "restart": restart,
            "interval": interval,
            "metric": metric,
            "trace": None if trace is None else str(trace),
        }
        if settings is None:
            from memwarden.settings import load

            settings = load(config_path, environ)
        config = settings.guard(arguments)
        leak_config = settings.leak()
        # Alerts are off by default: without an [alerts] key their modules never load.
        alerts_config = settings.alerts() if settings.sets("alerts") else None
        _current = Guardian(config).start()
        with _current._lock:  # its first tick ran before it was current
            _note_tier(_current._state.tier)
        _current.settings = settings
        _attach_watchers(_current, leak_config, alerts_config)
        # Under `memwarden run`, its SIGTERM must run the on_shutdown hooks.
        shutdown_on_sigterm(environ=settings.environ)
        return _current


def _attach_watchers(guardian: Guardian, leak_config: LeakConfig,
                     alerts_config: AlertsConfig | None) -> None:
    """The leak watch (and snapshot signal) and webhook alerts, as configured (and already
    validated); a failure to set one up is logged and never stops the guardian."""
    try:
        from memwarden.leak.deferred import attach as attach_leak_watch

        watch = attach_leak_watch(guardian, leak_config)
        guardian.leak_watch = None if watch is None else guardian.attach(watch)
    except Exception:
        log.exception("memwarden: leak watch not started")
    if alerts_config is None:
        return
    try:
        from memwarden.alerts import attach as attach_alerts  # the sender loads only if set up

        handle = attach_alerts(guardian.events, alerts_config)
        guardian.alerts = None if handle is None else guardian.attach(handle)
    except Exception:
        log.exception("memwarden: webhook alerts not started")


def _exit_process(status: int) -> None:
    from memwarden.actions import exit_process

    exit_process(status)


def current() -> Guardian | None:
    return _current


def current_tier() -> Tier | None:
    """The running guardian's tier, None without one: the web middleware asks per request."""
    running = _current
    return None if running is None else running._state.tier  # one read, atomic: no lock


def stop() -> None:
    global _current
    with _current_lock:
        if _current is not None:
            _current.stop()  # closes its add-ons too
        _current = None
        _note_tier(Tier.OK)
