"""Memory sampling per program (its whole tree) and across programs (budget, container).

Each program's tree RSS is compared with its own ladder against its effective limit (the
smallest of --limit, the cgroup limit and the machine's memory). Across programs, the sum of
tree RSS is compared with the optional total budget, and the container's working set with
the cgroup limit when one applies; reaching `restart` there restarts the largest program.
The container is the supervisor's own memory cgroup when the programs run in groups memwarden
owns (a program's owned group has its own wall, and its page cache is not the container's
business), else the cgroup the programs' samples read, which is then the same group.
"""

from __future__ import annotations

import time

from memwarden.errors import NoSuchProcessError, ProcessAccessError
from memwarden.events import EventKind, Level
from memwarden.policy import PolicyConfig, PolicyState, Tier, Transition, evaluate
from memwarden.sample import Sampler
from memwarden.supervisor.cadence import full_every_s, next_interval_s, slowest_interval_s
from memwarden.supervisor.program import ProgramRun
from memwarden.units import format_bytes, format_duration

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from memwarden.readers.cgroup import CgroupLocation, CgroupMemory
    from memwarden.sample import Sample
    from memwarden.supervisor.loop import Supervisor


FOLLOW_UP_S = 0.001  # after an event the tree has not caught up with: look again this soon
FOLLOW_UPS = 250  # ... this many times (>= 250 ms: 2 MiB early at 8 MiB/s), then the cadence


class MemoryMonitor:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        budget = supervisor.config.budget
        self.budget_bytes = budget.limit_bytes if budget is not None else None
        self.budget_policy = budget.policy() if budget is not None else None
        self.budget_state = PolicyState()
        self.container_state = PolicyState()
        self.container_policy = PolicyConfig()
        self._fresh = False  # a new sample arrived since the totals were last checked
        self.totals_gap_bytes: int | None = None  # to the budget's or container's next tier
        self.total_bytes: int | None = None
        self._own_location: CgroupLocation | None = None
        self._own_looked_up = False  # the supervisor never moves: one lookup is enough

    def sample(self, run: ProgramRun, *, full: bool = False) -> None:
        """Sample run's tree, let the policy decide, and schedule the next sample.

        A full sample (limits, memory.stat, meminfo, PSI: figures no decision of the tree RSS
        policy waits for) when asked (PSI), on the first, and every FULL_EVERY slowest
        intervals (not capped by the leak window); else the tree alone by its kept fds.
        """
        now_s = time.monotonic()
        interval_s = run.config.memory.interval_s
        run.next_sample_s = now_s + interval_s  # if this one fails: try again soon
        pid = run.pid
        if pid is None:
            return
        if run.sampler is None:
            run.sampler = Sampler(pid=pid, budget_bytes=run.config.memory.limit_bytes,
                                  metric="tree_rss")
        previous = run.last_sample
        full = full or previous is None or now_s >= run.full_due_s
        try:
            sample = run.sampler.sample(refresh=full)
        except (NoSuchProcessError, ProcessAccessError):
            return  # exiting: the reaper reports it
        run.last_sample = sample
        if not full and previous is not None and self._still(run, previous, sample):
            # The policy would decide what it decided last time. The leak history takes the
            # point; the thresholds' eventfds follow usage (page cache moves without the tree).
            if sample.cgroup is not previous.cgroup:
                self.sup.cgroups.rearm(run, sample)
            self.sup.leaks.feed(run, sample)
            self._fresh = True
            run.next_sample_s = now_s + self.next_delay_s(run, still=True)
            return
        self.sup.cgroups.rearm(run, sample)  # one pread unless usage and RSS drifted apart
        if full:
            run.full_due_s = now_s + full_every_s(interval_s)
            self.sup.cgroups.tick(run)  # backup for a pause at the wall the events missed
        self.sup.leaks.feed(run, sample)
        self._fresh = True
        if sample.tree is not None:
            run.known_pids.update(sample.tree.pids)
        if sample.measured_bytes is not None:
            self._decide(run, sample)
        if run.state == "running":
            run.next_sample_s = now_s + self.next_delay_s(run)

    def _still(self, run: ProgramRun, previous: Sample, sample: Sample) -> bool:
        """Whether a quick sample found the tree at rest: the same tree (the reader hands back
        the same object when no process's figures, and no process, changed) and the same
        figure for the policy, which is not counting time (a pending tier change, or
        critical_timeout). The trace wants every sample decided."""
        return (sample.tree is previous.tree and previous.tree is not None
                and sample.measured_bytes == previous.measured_bytes and run.follow_ups == 0
                and run.policy_state.pending is None and run.tier < Tier.CRITICAL
                and not self.sup.events.wants_samples)

    def on_event(self, run: ProgramRun) -> None:
        """A kernel threshold fired: sample now. If the tree has not reached the tier yet
        (usage and RSS move a little apart), look again every FOLLOW_UP_S for a while."""
        self.sample(run)
        if run.state == "running" and not self.sup.cgroups.covers(run, self._ahead(run)):
            run.follow_ups = FOLLOW_UPS
            run.next_sample_s = min(run.next_sample_s, time.monotonic() + FOLLOW_UP_S)

    def slowest_s(self, run: ProgramRun, *, still: bool = False) -> float:
        """The slowest sampling interval (the leak window's cadence caps it while the tree
        moves)."""
        return slowest_interval_s(run.config.memory.interval_s, run.config.leak_window_s,
                                  still=still)

    def _ahead(self, run: ProgramRun) -> list[Tier]:
        sample = run.last_sample
        limit_bytes = sample.limit.limit_bytes if sample is not None else None
        return [tier for tier, threshold in run.policy.thresholds_bytes(limit_bytes).items()
                if tier > run.tier and threshold is not None]

    def next_delay_s(self, run: ProgramRun, *, still: bool = False) -> float:
        interval_s = run.config.memory.interval_s
        if run.follow_ups > 0:
            run.follow_ups -= 1
            return min(interval_s, FOLLOW_UP_S)
        state, sample = run.policy_state, run.last_sample
        if state.pending is not None or state.tier >= Tier.CRITICAL \
                or sample is None or sample.measured_bytes is None:
            return interval_s  # sustain and critical_timeout count time; no figure: look soon
        ahead = self._ahead(run)
        gap_bytes: int | None = None
        if ahead and not self.sup.cgroups.covers(run, ahead):
            gap_bytes = _gap_bytes(run.policy, state, sample.measured_bytes,
                                   sample.limit.limit_bytes)
        if self.totals_gap_bytes is not None:
            gap_bytes = (self.totals_gap_bytes if gap_bytes is None
                         else min(gap_bytes, self.totals_gap_bytes))
        return next_interval_s(interval_s=interval_s, slowest_s=self.slowest_s(run, still=still),
                               gap_bytes=gap_bytes,
                               max_alloc_rate_bytes_per_s=run.config.max_alloc_rate_bytes_per_s)

    def _decide(self, run: ProgramRun, sample: Sample) -> None:
        assert sample.measured_bytes is not None
        state, transition = evaluate(
            run.policy_state,
            measured_bytes=sample.measured_bytes,
            limit_bytes=sample.limit.limit_bytes,
            now_s=sample.monotonic_s,
            config=run.policy,
        )
        run.policy_state = state
        if self.sup.events.wants_samples:  # the trace
            self.sup.events.sampled(run.name, sample, state.tier,
                                    run.policy.thresholds_bytes(sample.limit.limit_bytes))
        if transition is not None:
            self._on_transition(run, transition)

    def _on_transition(self, run: ProgramRun, t: Transition) -> None:
        self.sup.events.emit(
            EventKind.TIER,
            f"memory tier {t.previous.label} -> {t.current.label}: {run.figures_text()}, "
            f"threshold {format_bytes(t.threshold_bytes)}",
            program=run.name, level=Level.WARNING if t.rising else Level.INFO,
            tier=t.current.label, previous=t.previous.label, measured_bytes=t.measured_bytes,
            threshold_bytes=t.threshold_bytes, **run.figures(),
        )
        if t.rising and t.current == Tier.RESTART:
            why = (f"stayed at critical for {format_duration(t.critical_for_s)} "
                   f"(critical_timeout), tree RSS {format_bytes(t.measured_bytes)}"
                   if t.critical_for_s is not None else
                   f"tree RSS {format_bytes(t.measured_bytes)} reached the restart threshold "
                   f"{format_bytes(t.threshold_bytes)}")
            self.sup.request_restart(run.name, "memory", why,
                                     {**run.figures(), "threshold_bytes": t.threshold_bytes})

    def oom_killed(self, run: ProgramRun) -> bool:
        """A SIGKILL nobody here sent: the kernel's OOM killer, if the cgroup's oom_kill
        counter moved since the last sample or the tree was at critical or above."""
        sample = run.last_sample
        if sample is None:
            return False
        if sample.cgroup is not None and sample.cgroup.oom_kill_events is not None \
                and run.sampler is not None and run.sampler.cgroup_location is not None:
            from memwarden.readers.cgroup import read_cgroup_memory

            now = read_cgroup_memory(run.sampler.cgroup_location)
            if now is not None and now.oom_kill_events is not None \
                    and now.oom_kill_events > sample.cgroup.oom_kill_events:
                return True
        return run.tier >= Tier.CRITICAL

    def check_totals(self) -> None:
        if not self._fresh:
            return
        self._fresh = False
        running = [r for r in self.sup.runs.values()
                   if r.state == "running" and r.last_sample is not None]
        if not running:
            return
        rss = [r.last_sample.tree.rss_bytes for r in running
               if r.last_sample is not None and r.last_sample.tree is not None]
        self.total_bytes = sum(rss) if rss else None
        now_s = time.monotonic()
        if self.budget_policy is not None and self.total_bytes is not None:
            self.budget_state = self._check(
                "total budget", self.budget_state, self.budget_policy, self.total_bytes,
                self.budget_bytes, now_s, running)
        gaps = []
        if self.budget_policy is not None and self.total_bytes is not None:
            gaps.append(_gap_bytes(self.budget_policy, self.budget_state, self.total_bytes,
                                   self.budget_bytes))
        cgroup = self._container(running)
        if cgroup is not None and cgroup.limit_bytes is not None \
                and cgroup.working_set_bytes is not None:
            self.container_state = self._check(
                "container working set", self.container_state, self.container_policy,
                cgroup.working_set_bytes, cgroup.limit_bytes, now_s, running)
            gaps.append(_gap_bytes(self.container_policy, self.container_state,
                                   cgroup.working_set_bytes, cgroup.limit_bytes))
        known = [gap for gap in gaps if gap is not None]
        # The budget and the container are watched through the programs' samples: the
        # nearest of their thresholds paces every program too.
        self.totals_gap_bytes = min(known) if known else None

    def _container(self, running: list[ProgramRun]) -> CgroupMemory | None:
        if not self.sup.cgroups.owned:
            return next((r.last_sample.cgroup for r in running if r.last_sample is not None
                         and r.last_sample.cgroup is not None), None)
        from memwarden.readers.cgroup import read_cgroup_memory
        from memwarden.supervisor.cgroupctl import supervisor_group

        if not self._own_looked_up:
            # Only a group with a limit is checked: in the usual case (no limit above memwarden)
            # this adds no read to the tick. A container's limit does not change under it.
            location, self._own_looked_up = supervisor_group(), True
            first = read_cgroup_memory(location) if location is not None else None
            self._own_location = location if first is not None and first.limit_bytes else None
        if self._own_location is None:
            return None
        return read_cgroup_memory(self._own_location)

    def _check(self, what: str, state: PolicyState, policy: PolicyConfig, measured_bytes: int,
               limit_bytes: int | None, now_s: float, running: list[ProgramRun]) -> PolicyState:
        state, t = evaluate(state, measured_bytes=measured_bytes, limit_bytes=limit_bytes,
                            now_s=now_s, config=policy)
        if t is None:
            return state
        self.sup.events.emit(EventKind.TIER,
                             f"{what} tier {t.previous.label} -> {t.current.label}: "
                             f"{format_bytes(measured_bytes)} of {format_bytes(limit_bytes)}",
                             level=Level.WARNING if t.rising else Level.INFO,
                             tier=t.current.label, scope=what, previous=t.previous.label,
                             measured_bytes=measured_bytes, threshold_bytes=t.threshold_bytes,
                             limit_bytes=limit_bytes)
        if t.rising and t.current == Tier.RESTART:
            largest = max(running, key=lambda r: r.figures()["tree_rss_bytes"] or 0)
            self.sup.request_restart(
                largest.name, "memory",
                f"{what} {format_bytes(measured_bytes)} reached its restart threshold "
                f"{format_bytes(t.threshold_bytes)}; {largest.name} is the largest program",
                largest.figures())
        return state

    def budget_status(self) -> dict[str, Any] | None:
        if self.budget_bytes is None:
            return None
        return {"limit_bytes": self.budget_bytes, "total_rss_bytes": self.total_bytes,
                "tier": self.budget_state.tier.label}


def _gap_bytes(policy: PolicyConfig, state: PolicyState, measured_bytes: int,
               limit_bytes: int | None) -> int | None:
    """Bytes from measured to the nearest threshold above the current tier; None: none."""
    ahead = [threshold for tier, threshold in policy.thresholds_bytes(limit_bytes).items()
             if tier > state.tier and threshold is not None]
    return min(ahead) - measured_bytes if ahead else None
