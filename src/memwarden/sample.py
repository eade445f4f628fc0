"""One sample a tick: every reader's figures, the effective limit and the figure compared."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from memwarden.readers.cgroup import CgroupLocation, CgroupMemory
from memwarden.readers.proc import PROC_ROOT
from memwarden.readers.system import Pressure, SystemMemory
from memwarden.readers.tree import TreeMemory
from memwarden.record import record, replace

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    # tracemalloc (and pickle) load only for in-process runtime figures
    from memwarden.readers.cgroup import CgroupUsageReader
    from memwarden.readers.kept import TreeReader
    from memwarden.readers.runtime import RuntimeMemory

    Metric = Literal["tree_rss", "working_set"]
    MetricChoice = Literal["auto", "tree_rss", "working_set"]
    LimitSource = Literal["budget", "cgroup", "system"]
else:  # run-time stand-ins, so `from memwarden.sample import Metric` keeps working
    Metric = MetricChoice = LimitSource = str

# OS-specific code is chosen here and only here.
IS_LINUX = sys.platform.startswith("linux")


@record
class EffectiveLimit:
    limit_bytes: int | None
    source: LimitSource | None


@record
class Sample:
    time_s: float  # wall clock (unix seconds)
    monotonic_s: float
    pid: int | None  # the watched tree's root; None when watching the container/system only
    tree: TreeMemory | None
    cgroup: CgroupMemory | None
    system: SystemMemory | None
    pressure: Pressure | None  # /proc/pressure/memory
    cgroup_pressure: Pressure | None  # the cgroup's memory.pressure (v2 only)
    runtime: RuntimeMemory | None  # in-process only
    limit: EffectiveLimit
    metric: Metric
    measured_bytes: int | None  # the figure the policy compares
    unavailable: tuple[str, ...]  # names of sources that could not be read

    @property
    def headroom_bytes(self) -> int | None:
        if self.limit.limit_bytes is None or self.measured_bytes is None:
            return None
        return self.limit.limit_bytes - self.measured_bytes

    @property
    def usage_ratio(self) -> float | None:
        if not self.limit.limit_bytes or self.measured_bytes is None:
            return None
        return self.measured_bytes / self.limit.limit_bytes

    def figures(self) -> dict[str, Any]:
        """The flat, canonical form of a sample (the trace's keys): every JSON view of a
        sample (trace, status, a program's figures) takes its names and values from here."""
        tree, cg, system, runtime = self.tree, self.cgroup, self.system, self.runtime
        pressure = self.cgroup_pressure or self.pressure
        return {
            "metric": self.metric,
            "measured_bytes": self.measured_bytes,
            "limit_bytes": self.limit.limit_bytes,
            "limit_source": self.limit.source,
            "tree_rss_bytes": tree.rss_bytes if tree else None,
            "tree_processes": len(tree.processes) if tree else None,
            "swap_bytes": tree.swap_bytes if tree else None,
            "cgroup_usage_bytes": cg.usage_bytes if cg else None,
            "working_set_bytes": cg.working_set_bytes if cg else None,
            "cgroup_limit_bytes": cg.limit_bytes if cg else None,
            "inactive_file_bytes": cg.inactive_file_bytes if cg else None,
            "oom_kill_events": cg.oom_kill_events if cg else None,
            "system_total_bytes": system.total_bytes if system else None,
            "system_available_bytes": system.available_bytes if system else None,
            "psi_some_avg10": pressure.some.avg10 if pressure else None,
            "psi_full_avg10": pressure.full.avg10 if pressure and pressure.full else None,
            "py_allocated_blocks": runtime.allocated_blocks if runtime else None,
            "py_traced_bytes": runtime.tracemalloc_current_bytes if runtime else None,
            "gc_collections": sum(runtime.gc_collections) if runtime else None,
        }


def effective_limit(
    budget_bytes: int | None, cgroup: CgroupMemory | None, system: SystemMemory | None
) -> EffectiveLimit:
    """The smallest of the configured budget, the cgroup limit and the machine's memory."""
    candidates: list[tuple[int, LimitSource]] = []
    if budget_bytes is not None:
        candidates.append((budget_bytes, "budget"))
    if cgroup is not None and cgroup.limit_bytes is not None:
        candidates.append((cgroup.limit_bytes, "cgroup"))
    if system is not None:
        candidates.append((system.total_bytes, "system"))
    if not candidates:
        return EffectiveLimit(None, None)
    limit_bytes, source = min(candidates, key=lambda c: c[0])
    return EffectiveLimit(limit_bytes, source)


def choose_metric(choice: MetricChoice, cgroup: CgroupMemory | None, pid: int | None) -> Metric:
    """Auto: the container's working set when a cgroup limit applies, else tree RSS."""
    if choice != "auto":
        return choice
    has_limit = cgroup is not None and cgroup.limit_bytes is not None
    if has_limit and cgroup is not None and cgroup.working_set_bytes is not None:
        return "working_set"
    return "tree_rss" if pid is not None else "working_set"


class Sampler:
    """Takes samples of one process tree and its container. Not thread-safe; one per driver."""

    def __init__(
        self,
        *,
        pid: int | None = None,
        budget_bytes: int | None = None,
        metric: MetricChoice = "auto",
        include_runtime: bool = False,
        proc_root: Path = PROC_ROOT,
        cgroup: CgroupLocation | Literal["auto"] | None = "auto",
        with_status: bool = False,
    ) -> None:
        """`with_status`: also read each process's `status` (swap, threads) for a display."""
        from memwarden.readers.cgroup import find_memory_cgroup

        self.pid = pid
        self.with_status = with_status
        self._tree_reader: TreeReader | None = None
        self._usage_reader: CgroupUsageReader | None = None
        self._last: Sample | None = None
        self.budget_bytes = budget_bytes
        self.metric_choice: MetricChoice = metric
        self.include_runtime = include_runtime
        self.proc_root = proc_root
        if cgroup == "auto":
            target: int | Literal["self"] = pid if pid is not None else "self"
            cgroup = find_memory_cgroup(target, proc_root) if IS_LINUX else None
        self.cgroup_location: CgroupLocation | None = cgroup

    def sample(self, *, refresh: bool = True) -> Sample:
        """Raise NoSuchProcessError when the watched pid is gone.

        `refresh=False` after a first sample: re-read only the tree and the cgroup's usage
        (kept fds, one pread each) and the runtime figures when included; the working set
        is that usage less the last full sample's inactive_file, and the limit, the rest of
        memory.stat, meminfo and PSI are the last full sample's. Drivers refresh when a
        decision needs them.
        """
        last = self._last
        if not refresh and last is not None:
            quick = self._quick(last)
            if quick is not None:
                return quick
        sample = self._full()
        self._last = sample
        return sample

    def _quick(self, last: Sample) -> Sample | None:
        """None when the figure compared needs a full read (a working set without a cgroup)."""
        tree = self._read_tree()
        cgroup = last.cgroup
        usage = self._usage_bytes() if cgroup is not None else None
        if cgroup is not None and usage is not None:
            working_set = (None if cgroup.inactive_file_bytes is None
                           else max(0, usage - cgroup.inactive_file_bytes))
            if usage != cgroup.usage_bytes or working_set != cgroup.working_set_bytes:
                cgroup = replace(cgroup, usage_bytes=usage, working_set_bytes=working_set)
        measured: int | None
        if last.metric == "working_set":
            measured = cgroup.working_set_bytes if cgroup is not None else None
            if measured is None:
                return None  # no cgroup usage to pread: meminfo decides, a full read
        else:
            measured = tree.rss_bytes if tree is not None else None
        runtime = last.runtime
        if self.include_runtime:  # the interpreter's own counters: calls, no file read
            from memwarden.readers.runtime import read_runtime

            runtime = read_runtime()
        return replace(last, time_s=time.time(), monotonic_s=time.monotonic(), tree=tree,
                       cgroup=cgroup, runtime=runtime, measured_bytes=measured)

    def _usage_bytes(self) -> int | None:
        if self._usage_reader is None:
            if self.cgroup_location is None:
                return None
            from memwarden.readers.cgroup import CgroupUsageReader

            try:
                self._usage_reader = CgroupUsageReader(self.cgroup_location)
            except OSError:
                return None
        return self._usage_reader.read_usage_bytes()

    def _full(self) -> Sample:
        from memwarden.readers.cgroup import read_cgroup_memory
        from memwarden.readers.runtime import read_runtime
        from memwarden.readers.system import read_pressure, read_system_memory

        unavailable: list[str] = []
        tree = self._read_tree()
        cgroup = system = pressure = cgroup_pressure = None
        if IS_LINUX:
            if self.cgroup_location is not None:
                cgroup = read_cgroup_memory(self.cgroup_location)
                if self.cgroup_location.version == 2:
                    cgroup_pressure = read_pressure(self.cgroup_location.path / "memory.pressure")
            system = read_system_memory(self.proc_root)
            pressure = read_pressure(self.proc_root / "pressure" / "memory")
        else:
            from memwarden.readers.fallback import read_system_memory_psutil

            system = read_system_memory_psutil()
        if cgroup is None:
            unavailable.append("cgroup")
        if system is None:
            unavailable.append("meminfo")
        if pressure is None:
            unavailable.append("psi")
        runtime = read_runtime() if self.include_runtime else None

        limit = effective_limit(self.budget_bytes, cgroup, system)
        metric = choose_metric(self.metric_choice, cgroup, self.pid)
        measured: int | None
        if metric == "working_set":
            measured = cgroup.working_set_bytes if cgroup is not None else None
            if measured is None and system is not None and system.available_bytes is not None:
                # No cgroup: the machine is the container; its working set is what is not available.
                measured = system.total_bytes - system.available_bytes
        else:
            measured = tree.rss_bytes if tree is not None else None
        return Sample(
            time_s=time.time(),
            monotonic_s=time.monotonic(),
            pid=self.pid,
            tree=tree,
            cgroup=cgroup,
            system=system,
            pressure=pressure,
            cgroup_pressure=cgroup_pressure,
            runtime=runtime,
            limit=limit,
            metric=metric,
            measured_bytes=measured,
            unavailable=tuple(unavailable),
        )

    def _read_tree(self) -> TreeMemory | None:
        if self.pid is None:
            return None
        if IS_LINUX:
            if self._tree_reader is None:
                from memwarden.readers.kept import TreeReader

                self._tree_reader = TreeReader(self.pid, self.proc_root,
                                               with_status=self.with_status)
            return self._tree_reader.read()
        from memwarden.readers.fallback import read_tree_memory_psutil

        return read_tree_memory_psutil(self.pid)

    def close(self) -> None:
        """Close the kept file descriptors (dropping the sampler closes them too)."""
        if self._tree_reader is not None:
            self._tree_reader.close()
            self._tree_reader = None
        if self._usage_reader is not None:
            self._usage_reader.close()
            self._usage_reader = None
