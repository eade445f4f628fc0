"""PSI in the supervisor loop: memory pressure wakes the loop to sample every program at once.

`--psi "some 100ms 2s"` (the default; TOML `psi` in [supervisor]; `off` disables) arms a PSI
trigger: the kernel wakes the loop when tasks stalled on memory (reclaim, refaults, throttling)
for longer than the stall time within the window. The file is the supervisor's own cgroup v2
`memory.pressure` when it has one (the container's pressure), else the system's
/proc/pressure/memory. A trigger sees a slow squeeze (a host or container short of memory,
page cache thrashing) between two polls; it is blind to a fast spike, which the owned cgroup's
events catch. Where PSI is missing (kernel without CONFIG_PSI, `psi=0`) the start-up log says
so and detection goes on without it.
"""

from __future__ import annotations

import time

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import selectors

    from memwarden.supervisor.config import PsiSpec
    from memwarden.supervisor.loop import Supervisor
    from memwarden.supervisor.notify import PsiTrigger

LOG_EVERY_S = 60.0  # sustained pressure fires once per window: log the first of each minute


def _span(microseconds: int) -> str:
    return f"{microseconds / 1e3:g}ms" if microseconds < 1_000_000 else f"{microseconds / 1e6:g}s"


def describe_spec(spec: PsiSpec) -> str:
    """As the option is written: 'some 100ms 2s'."""
    return f"{spec.kind} {_span(spec.stall_us)} {_span(spec.window_us)}"


class PressureWiring:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.trigger: PsiTrigger | None = None
        self.fired = 0
        self._logged_s = float("-inf")

    @property
    def armed(self) -> bool:
        return self.trigger is not None

    def setup(self) -> None:
        spec = self.sup.config.psi
        if spec is None:
            return
        from memwarden.readers.system import memory_pressure_path
        from memwarden.supervisor.cgroupctl import supervisor_group
        from memwarden.supervisor.notify import NotifyUnavailable, PsiTrigger

        # The supervisor's group, not the leaf it may have moved into: the programs' pressure.
        path = memory_pressure_path(supervisor_group())
        try:
            self.trigger = PsiTrigger(path, stall_us=spec.stall_us, window_us=spec.window_us,
                                      kind=spec.kind)
        except NotifyUnavailable as err:
            self.sup.sink.event("info", f"PSI trigger unavailable ({err}): no pressure "
                                "wake-ups, detection goes on without them")
            return
        self.sup.add_reader(self.trigger.fileno(), self._on_pressure)
        self.sup.sink.event("info", f"PSI trigger armed on {path}: '{describe_spec(spec)}' "
                            "(memory stalls wake the loop to sample every program)")

    def _on_pressure(self, _selector: selectors.BaseSelector) -> None:
        if self.trigger is None:
            return
        self.fired += self.trigger.drain()
        now_s = time.monotonic()
        if now_s - self._logged_s >= LOG_EVERY_S:
            self._logged_s = now_s
            spec = self.sup.config.psi
            what = describe_spec(spec) if spec is not None else "?"
            self.sup.sink.event("info", f"memory pressure: PSI trigger '{what}' on "
                                f"{self.trigger.path} fired (count {self.fired}): sampling "
                                "every program now")
        for run in self.sup.runs.values():
            if run.state == "running" and run.alive:
                self.sup.memory.sample(run, full=True)

    def close(self) -> None:
        if self.trigger is not None:
            self.sup.remove_reader(self.trigger.fileno())
            self.trigger.close()
            self.trigger = None
