"""`memwarden check`: one sample plus the advice its figures call for. Pure over a Sample."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from memwarden.errors import MemwardenError
from memwarden.readers.proc import PROC_ROOT, ProcessDetail
from memwarden.sample import Sample
from memwarden.units import format_bytes

GLIBC_ARENA_BYTES = 64 * 1024**2  # glibc reserves each non-main arena heap as a 64 MiB mapping
ARENAS_WORTH_CAPPING = 4
LOW_HEADROOM_FRACTION = 0.15
PSI_STALL_PERCENT = 10.0


@dataclass(frozen=True, slots=True)
class TopProcess:
    pid: int
    name: str
    rss_bytes: int


@dataclass(frozen=True, slots=True)
class Checkup:
    sample: Sample
    detail: ProcessDetail | None  # PSS/USS of the root process, read once here (costs ms)
    arenas: int | None  # glibc arena heaps mapped in the root process
    arena_max_set: bool | None  # MALLOC_ARENA_MAX in the root's environment
    top: tuple[TopProcess, ...] = ()
    advice: tuple[str, ...] = field(default=())


def count_glibc_arenas(pid: int, proc_root: Path = PROC_ROOT) -> int | None:
    """Anonymous 64 MiB-aligned reservations (rw part + PROT_NONE rest) = non-main arenas."""
    from memwarden.readers.procinfo import read_maps

    lines = read_maps(pid, proc_root)
    if lines is None:
        return None
    arenas = 0
    for index, line in enumerate(lines):
        parts = line.split()
        if len(parts) != 5 or parts[1] != "rw-p":  # anonymous: no path column
            continue
        start_text, end_text = parts[0].split("-")
        start, end = int(start_text, 16), int(end_text, 16)
        if start % GLIBC_ARENA_BYTES:
            continue
        reserved_end = end
        if index + 1 < len(lines):
            following = lines[index + 1].split()
            next_start, next_end = (int(x, 16) for x in following[0].split("-"))
            if len(following) == 5 and following[1] == "---p" and next_start == end:
                reserved_end = next_end
        if reserved_end - start == GLIBC_ARENA_BYTES:
            arenas += 1
    return arenas


def arena_max_in_environ(pid: int, proc_root: Path = PROC_ROOT) -> bool | None:
    from memwarden.readers.procinfo import read_environ

    try:
        return "MALLOC_ARENA_MAX" in read_environ(pid, proc_root)
    except MemwardenError:
        return None


def top_processes(count: int = 10) -> tuple[TopProcess, ...]:
    from memwarden.readers.fallback import largest_processes_psutil

    return tuple(TopProcess(pid, name, rss) for pid, name, rss in largest_processes_psutil(count))


def advise(checkup: Checkup) -> tuple[str, ...]:
    """Concrete recommendations the figures call for; none when all is well."""
    sample = checkup.sample
    advice: list[str] = []
    limit, source = sample.limit.limit_bytes, sample.limit.source
    headroom_bytes = sample.headroom_bytes
    if headroom_bytes is not None and limit and headroom_bytes < limit * LOW_HEADROOM_FRACTION:
        where = (f"{format_bytes(-headroom_bytes)} over" if headroom_bytes < 0
                 else f"only {format_bytes(headroom_bytes)} of headroom below")
        advice.append(
            f"{where} the {source} limit of {format_bytes(limit)}: raise the limit or find "
            "what grows (memwarden monitor --out trace.jsonl, then memwarden report)"
        )
    if source == "system" and sample.cgroup is not None and sample.cgroup.limit_bytes is None:
        advice.append(
            "no container memory limit is set: the machine's whole memory is the only wall; "
            "give memwarden a budget (--limit 512M) so it acts before the OOM killer"
        )
    if checkup.arenas is not None and checkup.arenas >= ARENAS_WORTH_CAPPING and not (
        checkup.arena_max_set
    ):
        advice.append(
            f"{checkup.arenas} glibc malloc arenas are mapped in a threaded process: set "
            "MALLOC_ARENA_MAX=2 to stop per-thread arenas from holding freed memory"
        )
    tree = sample.tree
    if tree is not None and len(tree.processes) > 2 and limit:
        workers = tree.processes[1:]
        per_worker_bytes = max(p.rss_bytes for p in workers)
        projected_bytes = tree.processes[0].rss_bytes + per_worker_bytes * len(workers)
        if projected_bytes > limit:
            advice.append(
                f"{len(workers)} workers x {format_bytes(per_worker_bytes)} (largest worker) "
                f"+ parent = {format_bytes(projected_bytes)}, above the limit of "
                f"{format_bytes(limit)}: use fewer workers or recycle each below "
                f"{format_bytes(int(limit * 0.85) // len(workers))}"
            )
    if tree is not None and tree.swap_bytes:
        advice.append(
            f"{format_bytes(tree.swap_bytes)} of the tree is swapped out: RSS understates its "
            "memory; latency suffers when it is touched"
        )
    pressure = sample.cgroup_pressure or sample.pressure
    if pressure is not None and pressure.some.avg10 >= PSI_STALL_PERCENT:
        advice.append(
            f"memory pressure: tasks stalled {pressure.some.avg10:.1f}% of the last 10 s waiting "
            "for memory (PSI some avg10): the working set does not fit"
        )
    return tuple(advice)


def run_checkup(sample: Sample, *, proc_root: Path = PROC_ROOT, with_top: bool) -> Checkup:
    from memwarden.readers.proc import read_process_detail

    pid = sample.pid
    detail = arenas = arena_max = None
    if pid is not None and os.path.isdir(proc_root / str(pid)):
        detail = read_process_detail(pid, proc_root)
        arenas = count_glibc_arenas(pid, proc_root)
        arena_max = arena_max_in_environ(pid, proc_root)
    checkup = Checkup(sample, detail, arenas, arena_max, top_processes() if with_top else ())
    return replace(checkup, advice=advise(checkup))


def checkup_json(checkup: Checkup) -> dict[str, Any]:
    s = checkup.sample
    cg, system = s.cgroup, s.system
    pressure = s.cgroup_pressure or s.pressure
    return {
        "pid": s.pid,
        "time": s.time_s,
        "metric": s.metric,
        "measured_bytes": s.measured_bytes,
        "limit_bytes": s.limit.limit_bytes,
        "limit_source": s.limit.source,
        "headroom_bytes": s.headroom_bytes,
        "usage_ratio": s.usage_ratio,
        "tree": None if s.tree is None else {
            "rss_bytes": s.tree.rss_bytes,
            "swap_bytes": s.tree.swap_bytes,
            "processes": [
                {"pid": p.pid, "rss_bytes": p.rss_bytes, "vms_bytes": p.vms_bytes,
                 "swap_bytes": p.swap_bytes, "threads": p.threads}
                for p in s.tree.processes
            ],
        },
        "process_detail": None if checkup.detail is None else {
            "pss_bytes": checkup.detail.pss_bytes, "uss_bytes": checkup.detail.uss_bytes,
        },
        "cgroup": None if cg is None else {
            "version": cg.version, "path": cg.path, "usage_bytes": cg.usage_bytes,
            "limit_bytes": cg.limit_bytes, "high_bytes": cg.high_bytes,
            "working_set_bytes": cg.working_set_bytes,
            "inactive_file_bytes": cg.inactive_file_bytes, "anon_bytes": cg.anon_bytes,
            "file_bytes": cg.file_bytes, "oom_events": cg.oom_events,
            "oom_kill_events": cg.oom_kill_events, "failcnt": cg.failcnt,
        },
        "system": None if system is None else {
            "total_bytes": system.total_bytes, "available_bytes": system.available_bytes,
        },
        "pressure": None if pressure is None else {
            "some_avg10": pressure.some.avg10,
            "full_avg10": pressure.full.avg10 if pressure.full else None,
        },
        "glibc_arenas": checkup.arenas,
        "sources_unavailable": list(s.unavailable),
        "top_processes": [
            {"pid": p.pid, "name": p.name, "rss_bytes": p.rss_bytes} for p in checkup.top
        ],
        "recommendations": list(checkup.advice),
    }
