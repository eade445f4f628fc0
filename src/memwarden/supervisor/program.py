"""One program's run-time state: its child, restart accounting, last sample and tier."""

from __future__ import annotations

from dataclasses import dataclass, field

from memwarden.policy import PolicyConfig, PolicyState, Tier
from memwarden.sample import Sample, Sampler
from memwarden.supervisor.config import ProgramConfig
from memwarden.supervisor.policy.restart import RestartTracker
from memwarden.supervisor.process import Child
from memwarden.supervisor.states import ProgramState
from memwarden.units import format_bytes

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any



@dataclass
class ProgramRun:
    config: ProgramConfig
    tracker: RestartTracker
    policy: PolicyConfig
    state: ProgramState = ProgramState.STARTING
    child: Child | None = None
    sampler: Sampler | None = None
    started_s: float = 0.0  # monotonic
    started_wall_s: float = 0.0
    policy_state: PolicyState = field(default_factory=PolicyState)
    last_sample: Sample | None = None
    known_pids: set[int] = field(default_factory=set)  # every pid seen in its tree this run
    next_sample_s: float = 0.0
    full_due_s: float = 0.0  # the next sample that re-reads limits, memory.stat, meminfo, PSI
    follow_ups: int = 0  # quick looks left after a kernel event the tree had not caught up with
    stop_deadline_s: float | None = None
    stop_killed: bool = False  # SIGKILL already sent to what was left
    after_stop: str = "stop"  # "restart", "stop", or the final state: "errored" | "exited"
    restart_due_s: float | None = None  # backoff: when to start again
    restart_delay_s: float = 0.0  # backoff to apply once the current stop completes
    age_due_s: float | None = None
    cron_due_wall_s: float | None = None
    exit_description: str | None = None
    generation: int = 0  # how many times it was started

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    @property
    def alive(self) -> bool:
        return self.child is not None and self.child.returncode is None

    @property
    def tier(self) -> Tier:
        return self.policy_state.tier

    def uptime_s(self, now_s: float) -> float | None:
        return now_s - self.started_s if self.alive else None

    def figures(self) -> dict[str, Any]:
        """The last sample's figures, for log lines and status."""
        s = self.last_sample
        if s is None:
            return {"tree_rss_bytes": None, "working_set_bytes": None, "limit_bytes": None,
                    "limit_source": None, "processes": None}
        f = s.figures()
        return {"tree_rss_bytes": f["tree_rss_bytes"], "working_set_bytes": f["working_set_bytes"],
                "limit_bytes": f["limit_bytes"], "limit_source": f["limit_source"],
                "processes": f["tree_processes"]}

    def figures_text(self) -> str:
        f = self.figures()
        return (
            f"tree RSS {format_bytes(f['tree_rss_bytes'])} in {f['processes'] or '-'} process(es), "
            f"working set {format_bytes(f['working_set_bytes'])}, "
            f"limit {format_bytes(f['limit_bytes'])} ({f['limit_source'] or '-'})"
        )

    def status(self, now_s: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "pid": self.pid if self.alive else None,
            "uptime_s": self.uptime_s(now_s),
            "tier": self.tier.label,
            "restarts": self.tracker.total,
            "restarts_in_window": self.tracker.restarts_in_window,
            "max_restarts": self.config.max_restarts,
            "recent_restarts": [
                {"time": r.time_s, "reason": r.reason, "detail": r.detail}
                for r in self.tracker.history
            ],
            "last_exit": self.exit_description,
            "command": list(self.config.command),
            **self.figures(),
        }


def new_run(config: ProgramConfig) -> ProgramRun:
    tracker = RestartTracker(
        max_restarts=config.max_restarts,
        window_s=config.restart_window_s,
        backoff_s=config.backoff_s,
        backoff_max_s=config.backoff_max_s,
        stable_after_s=config.stable_after_s,
    )
    return ProgramRun(config=config, tracker=tracker, policy=config.memory.policy())
