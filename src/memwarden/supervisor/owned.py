"""Owned memory cgroups in the supervisor loop: a hard wall per program, kernel events.

When memwarden may create memory cgroups (root, a writable v1 memory hierarchy, a delegated
v2 subtree), each program runs in its own group `memwarden-<name>.<supervisor pid>`:

- hard limit = max(the program's limit, restart threshold + margin), margin = max(16 MiB,
  5 % of the threshold): above the restart tier (the policy still acts first) and never below
  the limit (so the sampler's effective limit is unchanged);
- v1: `oom_kill_disable=1`, so a task at the wall is paused, not SIGKILLed (v2: memory.high
  below memory.max throttles it);
- v1 events: an eventfd per tier threshold, armed at the usage that corresponds to it in
  tree RSS (thresholds.py; wakes ≤ 0.2 ms after the next charge past it: the loop then
  samples the tree at once and the policy decides), and an eventfd on memory.oom_control (a
  task paused at the wall: restart now); v2: memory.events. The poll stays as the backup, at
  the slowest rate while the events cover every threshold ahead (cadence.py).
- on any stop of a paused program: SIGTERM first, then `grant_headroom()` (a paused task only
  handles the signal once the wall moves), again while it stays paused, at most
  MAX_GRANTS times; `reset_limits()` before the next generation; groups are removed at exit.

Without the capability (or with `cgroup = false`), detection is the poll alone; the start-up
line says which mode each program got and why.
"""

from __future__ import annotations

import contextlib

from memwarden.policy import Tier
from memwarden.supervisor import cgroupctl
from memwarden.supervisor.process import SpawnHook
from memwarden.supervisor.thresholds import UsageThresholds
from memwarden.units import format_bytes, format_duration

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import selectors
    from typing import Any

    from memwarden.sample import Sample
    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.notify import Notifier
    from memwarden.supervisor.program import ProgramRun

MARGIN_MIN_BYTES = 16 * 1024 * 1024
MARGIN_FRACTION = 0.05
MAX_GRANTS = 8  # 8 x 32 MiB for a shutdown handler; past that, grace and SIGKILL decide


def hard_limit_bytes(limit_bytes: int, restart_bytes: int) -> int:
    margin = max(MARGIN_MIN_BYTES, int(restart_bytes * MARGIN_FRACTION))
    return max(limit_bytes, restart_bytes + margin)


class Owned:
    """One program's group, its notifiers and the restart threshold they watch."""

    def __init__(self, name: str, group: cgroupctl.OwnedCgroup, threshold_bytes: int,
                 notifiers: list[Notifier]) -> None:
        self.name = name
        self.group = group
        self.threshold_bytes = threshold_bytes
        self.notifiers = notifiers
        self.thresholds: UsageThresholds | None = None  # v1: an eventfd per tier threshold
        self.grants = 0

    def all_notifiers(self) -> list[Notifier]:
        return [*self.notifiers, *(self.thresholds.events() if self.thresholds else [])]


class CgroupWiring:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.owned: dict[str, Owned] = {}
        self.modes: dict[str, str] = {}
        self._enabled = False

    # -- start / stop ------------------------------------------------------------------------
    def setup(self) -> None:
        """Create a group per program where possible; log one detection line per program."""
        wanted = [r for r in self.sup.runs.values() if r.config.cgroup]
        if wanted:
            with contextlib.suppress(cgroupctl.CgroupUnavailable, OSError):
                for stale in cgroupctl.cleanup_stale():
                    self.sup.sink.event("info", f"removed stale cgroup {stale}")
        from memwarden.supervisor.notify import describe

        psi = ["psi"] if self.sup.pressure.armed else []
        whys = {run.name: self._own(run) if run.config.cgroup else "cgroup = false / --no-cgroup"
                for run in self.sup.runs.values()}
        self.sup.container.setup()  # the container's own events, where nothing is owned
        container = [self.sup.container.mode] if self.sup.container.mode else []
        for run in self.sup.runs.values():
            interval = format_duration(run.config.memory.interval_s)
            why = whys[run.name]
            entry = self.owned.get(run.name)
            events = ([describe(entry.all_notifiers())] if entry is not None and entry.notifiers
                      else container)
            # The kernel's wake-ups in force, then the poll that backs them up.
            mode = "+".join([*events, *psi, f"poll {interval}"])
            if entry is not None:
                text = (f"detection: {mode} (owned cgroup {entry.group.path.name}, hard limit "
                        f"{format_bytes(entry.group.hard_limit_bytes)}, restart threshold "
                        f"{format_bytes(entry.threshold_bytes)})")
            else:
                text = f"detection: {mode} (cgroup control unavailable: {why})"
            self.modes[run.name] = mode
            self.sup.sink.event("info", text, program=run.name, detection=mode)

    def _enable_memory_for_children(self) -> None:
        """v2: a group with processes in it (a systemd service with Delegate=yes, a delegated
        subtree) must move them into a leaf before its children may have memory limits."""
        try:
            leaf = cgroupctl.enable_memory_for_children()
        except cgroupctl.CgroupUnavailable as err:
            self.sup.sink.event("info", f"cgroup v2: cannot enable memory for program groups "
                                f"({err})")
            return
        except OSError as err:
            self.sup.sink.event("info", f"cgroup v2: no memory cgroup to delegate ({err})")
            return
        if leaf is not None:
            self.sup.sink.event("info", f"cgroup v2: moved the supervisor into {leaf} and "
                                "enabled +memory for its programs' groups")

    def _own(self, run: ProgramRun) -> str:
        """Own run's group; '' on success, else why not."""
        memory = run.config.memory
        if memory.limit_bytes is None or memory.restart is None:
            return "no --limit and restart threshold to set a hard limit from"
        restart_bytes = memory.restart.resolve(memory.limit_bytes)
        if restart_bytes is None:
            return "the restart threshold is off"
        hard = hard_limit_bytes(memory.limit_bytes, restart_bytes)
        if not self._enabled:
            self._enabled = True  # once: every program's group goes under the same parent
            self._enable_memory_for_children()
        try:
            group = cgroupctl.OwnedCgroup.create(run.name, hard)
        except cgroupctl.CgroupUnavailable as err:
            return err.reason
        notifiers = self._arm(group)
        entry = Owned(run.name, group, restart_bytes, notifiers)
        self.owned[run.name] = entry
        if self.sup.sentinel is not None:  # its last act empties the group(s)
            for path in _group_paths(group):
                self.sup.sentinel.add_cgroup(path)
        callback = self._callback(entry)
        for notifier in notifiers:
            self.sup.add_reader(notifier.fileno(), callback)
        if group.version == 1 and notifiers:
            entry.thresholds = UsageThresholds(
                group.path, lambda fd: self.sup.add_reader(fd, callback), self.sup.remove_reader)
            # No sample yet: armed at the thresholds themselves until the first one measures
            # how far tree RSS and usage are apart.
            self._arm_thresholds(entry, run.policy.thresholds_bytes(memory.limit_bytes), 0)
        return ""

    def _arm_thresholds(self, entry: Owned, thresholds_bytes: dict[Tier, int | None],
                        offset_bytes: int) -> None:
        from memwarden.supervisor.notify import NotifyUnavailable

        if entry.thresholds is None:
            return
        try:
            entry.thresholds.arm(thresholds_bytes, offset_bytes)
        except NotifyUnavailable as err:
            entry.thresholds.close()
            entry.thresholds = None
            self.sup.sink.event("warning", f"cgroup threshold events unavailable ({err}): "
                                "detection is the poll", program=entry.name)

    def _arm(self, group: cgroupctl.OwnedCgroup) -> list[Notifier]:
        """The events that do not move: v1 OOM (paused at the wall), v2 memory.events."""
        from memwarden.supervisor import notify

        try:
            if group.version == 1:
                return [notify.CgroupV1Event.oom(group.path)]
            armed: list[Notifier] = [notify.CgroupEventsV2(group.path)]
        except notify.NotifyUnavailable as err:
            self.sup.sink.event("warning", f"cgroup events unavailable ({err}): the owned "
                                "cgroup's wall stays, detection is the poll")
            return []
        spec = self.sup.config.psi
        if spec is not None and not self.sup.pressure.armed:
            # The container's or system's pressure file refused a trigger (read-only, another
            # owner): the group we created is ours to arm, and measures the program alone.
            try:
                armed.append(notify.PsiTrigger(group.path / "memory.pressure",
                                               stall_us=spec.stall_us,
                                               window_us=spec.window_us, kind=spec.kind))
            except notify.NotifyUnavailable as err:
                self.sup.sink.event("info", f"PSI trigger on {group.path.name} unavailable "
                                    f"({err})")
        return armed

    def close(self) -> None:
        from memwarden.supervisor.notify import close_all

        for entry in self.owned.values():
            for notifier in entry.notifiers:
                self.sup.remove_reader(notifier.fileno())
            close_all(entry.notifiers)
            if entry.thresholds is not None:
                entry.thresholds.close()
            try:
                entry.group.destroy()
            except cgroupctl.CgroupUnavailable as err:
                self.sup.sink.event("warning", f"cleanup: {err}", program=entry.name)
                continue  # still listed: the sentinel tries again when the supervisor exits
            if self.sup.sentinel is not None:
                for path in _group_paths(entry.group):
                    self.sup.sentinel.remove_cgroup(path)
        self.owned.clear()

    def paths(self) -> list[str]:
        """Every owned cgroup's directory (for the sentinel)."""
        return [path for entry in self.owned.values() for path in _group_paths(entry.group)]

    def members(self, run: ProgramRun) -> set[int]:
        """Every process in run's owned cgroup (none without one)."""
        entry = self.owned.get(run.name)
        return set(entry.group.pids()) if entry is not None else set()

    def kill(self, run: ProgramRun) -> int:
        """SIGKILL everything in run's owned cgroup; how many processes were listed."""
        entry = self.owned.get(run.name)
        return entry.group.kill() if entry is not None else 0

    # -- the loop's plug-in points ------------------------------------------------------------
    def spawn_hook(self, name: str) -> SpawnHook | None:
        """Put the next generation in the group, with the wall back at its hard limit."""
        entry = self.owned.get(name)
        if entry is None:
            return None
        entry.group.reset_limits()
        entry.grants = 0
        return SpawnHook(preexec=entry.group.preexec)

    def after_sigterm(self, run: ProgramRun) -> None:
        """SIGTERM went out: a program paused at the wall needs headroom to handle it."""
        entry = self.owned.get(run.name)
        if entry is not None:
            self._grant_if_paused(entry, run)

    def rearm(self, run: ProgramRun, sample: Sample) -> None:
        """After a full sample: move the thresholds' eventfds to where usage meets them."""
        entry = self.owned.get(run.name)
        if entry is None or entry.thresholds is None or sample.tree is None:
            return
        offset_bytes = sample.tree.rss_bytes - entry.group.usage_bytes()
        self._arm_thresholds(entry, run.policy.thresholds_bytes(sample.limit.limit_bytes),
                             offset_bytes)

    def covers(self, run: ProgramRun, tiers: list[Tier]) -> bool:
        """Whether kernel events will wake the loop before run reaches each of these tiers."""
        entry = self.owned.get(run.name)
        if entry is None or entry.thresholds is None:
            return False
        return entry.thresholds.covers(tiers, entry.group.usage_bytes())

    def tick(self, run: ProgramRun) -> None:
        """Backup poll (each sample, and while stopping): a pause the events missed."""
        entry = self.owned.get(run.name)
        if entry is None or not run.alive:
            return
        if run.state == "stopping":
            self._grant_if_paused(entry, run)
        elif run.state == "running" and entry.group.is_paused():
            self._restart_paused(entry, run, "poll")

    # -- internals ---------------------------------------------------------------------------
    def _callback(self, entry: Owned) -> Any:
        def on_event(_selector: selectors.BaseSelector) -> None:
            for notifier in entry.all_notifiers():
                notifier.drain()
            run = self.sup.runs[entry.name]
            if not run.alive:
                return
            if run.state == "stopping":
                self._grant_if_paused(entry, run)
            elif run.state == "running":
                # The tree's RSS decides, as for the poll. At the wall, it may have got there
                # between two samples: the policy sees it first, and the restart line names it.
                self.sup.memory.on_event(run)
                if run.state == "running" and entry.group.is_paused():
                    self._restart_paused(entry, run, "event")

        return on_event

    def _restart_paused(self, entry: Owned, run: ProgramRun, how: str) -> None:
        usage = entry.group.usage_bytes()
        figures = {**run.figures(), "cgroup_usage_bytes": usage,
                   "cgroup_limit_bytes": entry.group.limit_bytes}
        self.sup.request_restart(
            run.name, "memory",
            f"paused at its cgroup's wall {format_bytes(entry.group.limit_bytes)} (usage "
            f"{format_bytes(usage)}, seen by {how})", figures)

    def _grant_if_paused(self, entry: Owned, run: ProgramRun) -> None:
        if entry.grants >= MAX_GRANTS or not entry.group.is_paused():
            return
        entry.grants += 1
        limit = entry.group.grant_headroom()
        self.sup.sink.event("info", f"pid {run.pid} paused at the wall: raised its cgroup's "
                            f"limit to {format_bytes(limit)} so its shutdown handlers run "
                            f"(grant {entry.grants}/{MAX_GRANTS})", program=run.name)


def _group_paths(group: cgroupctl.OwnedCgroup) -> list[str]:
    """The directories of a program's owned groups: memory, and its v1 freezer if any."""
    return [str(group.path), *([str(group.freezer.path)] if group.freezer is not None else [])]
