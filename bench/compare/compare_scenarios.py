"""The five scenarios. Each starts one tool on one child program, measures, and stops it all.

Times come from the children's markers (CLOCK_MONOTONIC, shared by all processes), so a
delay is "child crossed the threshold" -> "child received the stop signal", whoever sent it.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import compare_load
import compare_procs as procs
from compare_tools import MIB, Launch, Running, Tool

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "children"))
import marker  # noqa: E402 - the children's own protocol module, shared with them

CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
Figures = dict[str, float | int | str | None]


@dataclass
class Config:
    leak_restarts: int = 5
    leak_rate_bytes_per_s: int = 20 * MIB
    spike_runs: int = 5
    load_restarts: int = 10
    load_rate_per_s: float = 250.0
    load_time_cap_s: float = 120.0
    footprint_window_s: float = 60.0
    tree_wait_s: float = 20.0
    threshold_bytes: int = 300 * MIB
    spike_limit_bytes: int = 512 * MIB
    spike_threshold_bytes: int = 450 * MIB
    load_threshold_bytes: int = 200 * MIB


def child(name: str, markers: Path, *args: str) -> list[str]:
    return [sys.executable, str(HERE / "children" / name), "--markers", str(markers), *args]


def by_pid(markers: Path) -> dict[int, dict[str, dict[str, Any]]]:
    """pid -> event -> its first record."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for rec in marker.read_markers(str(markers)):
        out.setdefault(rec["pid"], {}).setdefault(rec["event"], rec)
    return out


@contextlib.contextmanager
def running(tool: Tool, launch: Launch) -> Iterator[Running]:
    handle = tool.start(launch)
    try:
        yield handle
    finally:
        handle.stop()


def slow_leak(tool: Tool, run_dir: Path, cfg: Config) -> Figures:
    markers = run_dir / "markers.jsonl"
    threshold = cfg.threshold_bytes
    program = child("leaker.py", markers, "--threshold-bytes", str(threshold),
                    "--start-bytes", str(threshold - 60 * MIB),
                    "--rate-bytes-per-s", str(cfg.leak_rate_bytes_per_s),
                    # Restarts happen on a tool's tick; without jitter every crossing would
                    # fall at the same phase of the next one (5 s: supervisord's TICK_5).
                    "--jitter-s", "5")

    def ended() -> dict[int, dict[str, dict[str, Any]]] | None:
        done = {pid: ev for pid, ev in by_pid(markers).items()
                if "crossed" in ev and ("signal" in ev or not procs.alive(pid))}
        return done if len(done) >= cfg.leak_restarts else None

    # Threshold minus 60 MiB at 20 MiB/s: ~3 s to the crossing, then the slowest peer's check.
    with running(tool, Launch(program, threshold, run_dir)):
        procs.wait_for(ended, 30.0 + 35.0 * cfg.leak_restarts)
        # Leave time for the last shutdown hook to be written before everything is stopped.
        time.sleep(0.5)
    instances = {pid: ev for pid, ev in by_pid(markers).items() if "crossed" in ev}
    delays = sorted(ev["signal"]["t"] - ev["crossed"]["t"] for ev in instances.values()
                    if "signal" in ev)
    overshoots = [ev["signal"]["rss_bytes"] - threshold for ev in instances.values()
                  if "signal" in ev]
    return {
        "delay_median_s": statistics.median(delays) if delays else None,
        "delay_range": f"{delays[0]:.2f}–{delays[-1]:.2f} s" if delays else None,
        "overshoot_bytes": max(overshoots) if overshoots else None,
        "signalled": f"{len(delays)}/{len(instances)}",
        "hooks": f"{sum('hook' in ev for ev in instances.values())}/{len(instances)}",
    }


def _oom_kills(group: Path) -> int:
    for line in (group / "memory.oom_control").read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    raise RuntimeError(f"{group}/memory.oom_control has no oom_kill counter (kernel < 4.13)")


def spike(tool: Tool, run_dir: Path, cfg: Config) -> Figures | str:
    if not CGROUP_ROOT.is_dir() or not (CGROUP_ROOT / "cgroup.procs").exists():
        return "skipped: no cgroup v1 memory hierarchy"
    group = CGROUP_ROOT / f"mwcompare-{run_dir.name}"
    try:
        group.mkdir()
    except PermissionError:
        return "skipped: needs root to create a cgroup"
    try:
        (group / "memory.limit_in_bytes").write_text(str(cfg.spike_limit_bytes))
        return _spike_in(tool, run_dir, cfg, group)
    finally:
        procs.wait_for(lambda: True if not (group / "cgroup.procs").read_text().strip()
                       else None, 30)
        group.rmdir()


def _spike_in(tool: Tool, run_dir: Path, cfg: Config, group: Path) -> Figures:
    markers = run_dir / "markers.jsonl"
    program = child("spike.py", markers)
    outcomes: dict[int, str] = {}
    oom_seen = _oom_kills(group)

    def judge() -> bool | None:
        nonlocal oom_seen
        for pid, ev in sorted(by_pid(markers).items(), key=lambda item: item[1]["start"]["t"]):
            if pid in outcomes or "start" not in ev or procs.alive(pid):
                continue
            oom_now = _oom_kills(group)
            if "spike" not in ev:
                # Stopped before its spike began (a late check from the previous run): not a run.
                outcomes[pid] = "early"
            elif "hook" in ev:
                outcomes[pid] = "graceful"
            elif oom_now > oom_seen:
                outcomes[pid] = "oom"
            else:
                outcomes[pid] = "killed"
            oom_seen = oom_now
        runs = sum(outcome != "early" for outcome in outcomes.values())
        return True if runs >= cfg.spike_runs else None

    with running(tool, Launch(program, cfg.spike_threshold_bytes, run_dir, cgroup=group)) as run:
        procs.wait_for(judge, 30.0 * cfg.spike_runs)
        tool_alive = run.daemon_pid() is not None
    judged = [outcome for outcome in outcomes.values() if outcome != "early"][: cfg.spike_runs]
    return {
        "runs": len(judged),
        "graceful": judged.count("graceful"),
        "oom": judged.count("oom"),
        "other": judged.count("killed"),
        "early": sum(outcome == "early" for outcome in outcomes.values()),
        "tool_survived": "yes" if tool_alive else "no",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def restart_under_load(tool: Tool, run_dir: Path, cfg: Config) -> Figures:
    markers = run_dir / "markers.jsonl"
    port = _free_port()
    program = child("server.py", markers, "--port", str(port),
                    "--leak-bytes-per-request", str(256 * 1024))
    instances = getattr(tool, "cluster_instances", 0) or 1
    if instances > 1:
        program = ["node", str(HERE / "children" / "server.js"), *program[2:]]

    def ready_pids() -> list[int]:
        return [pid for pid, ev in by_pid(markers).items() if "ready" in ev]

    def restarts() -> int:
        return max(0, len(ready_pids()) - instances)

    with running(tool, Launch(program, cfg.load_threshold_bytes, run_dir, port=port)):
        if procs.wait_for(lambda: True if len(ready_pids()) >= instances else None, 60) is None:
            return {"requests": 0, "failed": None, "restarts": 0}
        stats = compare_load.drive(
            f"http://127.0.0.1:{port}/", rate_per_s=cfg.load_rate_per_s,
            time_cap_s=cfg.load_time_cap_s,
            done=lambda: restarts() >= cfg.load_restarts,
        )
    stats.write_failures(run_dir / "failures.jsonl")
    return {
        "requests": stats.total,
        "failed": stats.failed,
        "failed_fraction": stats.failed / stats.total if stats.total else None,
        "rate_per_s": stats.total / stats.elapsed_s,
        "restarts": restarts(),
        "failure_kinds": ", ".join(f"{kind} ×{count}" for kind, count
                                   in sorted(stats.kinds.items(), key=lambda kv: -kv[1])) or "—",
    }


def footprint(tool: Tool, run_dir: Path, cfg: Config) -> Figures:
    markers = run_dir / "markers.jsonl"
    program = child("idle.py", markers)
    with running(tool, Launch(program, cfg.threshold_bytes, run_dir)) as run:
        procs.wait_for(lambda: True if by_pid(markers) else None, 60)
        daemon = procs.wait_for(run.daemon_pid, 30)
        if daemon is None:
            return {"rss_bytes": None, "cpu_percent": None, "processes": 0}
        # Start-up work (imports, first scans) is not "idle": let it settle first.
        time.sleep(3.0)

        def supervisor_pids() -> set[int]:
            ppids = procs.parents()
            return procs.subtree([daemon], ppids) - procs.subtree(by_pid(markers), ppids)

        pids = supervisor_pids()
        # Nanoseconds on a CPU, every thread (schedstat), over a window long enough that a
        # tool's periodic work (a 5 s tick, a leak fit) is averaged, not caught or missed.
        before_ns = {pid: procs.cpu_ns(pid) for pid in pids}
        started_s = time.monotonic()
        time.sleep(cfg.footprint_window_s)
        after_ns = {pid: procs.cpu_ns(pid) for pid in pids if procs.alive(pid)}
        elapsed_s = time.monotonic() - started_s
        rss = sum(procs.rss_bytes(pid) for pid in after_ns)
    cpu_s = sum(after_ns[pid] - before_ns[pid] for pid in after_ns) / 1e9
    return {
        "rss_bytes": rss,
        "cpu_percent": 100.0 * cpu_s / elapsed_s,
        "processes": len(pids),
    }


def tree(tool: Tool, run_dir: Path, cfg: Config) -> Figures:
    markers = run_dir / "markers.jsonl"
    program = child("tree_parent.py", markers, "--parent-bytes", str(150 * MIB),
                    "--grandchild-bytes", str(200 * MIB))

    def first_tree() -> tuple[int, dict[str, Any], dict[str, Any]] | None:
        events = by_pid(markers)
        for pid, ev in events.items():
            if "ready" in ev:
                grandchild = ev["ready"]["grandchild_pid"]
                if "grandchild_ready" in events.get(grandchild, {}):
                    return pid, ev, events[grandchild]["grandchild_ready"]
        return None

    def stopped_while_filling() -> bool:
        # A fast tool stops the tree as soon as its total crosses the threshold, which can be
        # while the grandchild is still filling its memory (before it reports ready).
        events = by_pid(markers)
        return any(
            "signal" in ev and "ready" in ev
            and "signal" in events.get(ev["ready"]["grandchild_pid"], {})
            and "grandchild_ready" not in events.get(ev["ready"]["grandchild_pid"], {})
            for ev in events.values()
        )

    with running(tool, Launch(program, cfg.threshold_bytes, run_dir)):
        found = procs.wait_for(first_tree, 60)
        if found is None:
            if stopped_while_filling():
                return {"restarted": "yes, before the grandchild finished filling", "orphan": "no"}
            return {"restarted": "did not start"}
        parent, _, grandchild_ready = found
        grandchild = by_pid(markers)[parent]["ready"]["grandchild_pid"]

        def parent_stopped() -> dict[str, Any] | None:
            ev = by_pid(markers).get(parent, {})
            if "signal" in ev:
                return ev["signal"]
            return {"t": time.monotonic()} if not procs.alive(parent) else None

        stopped = procs.wait_for(parent_stopped, cfg.tree_wait_s)
        orphan = None
        if stopped is not None:
            # A tool that stops the tree does it as part of its stop; 5 s is generous.
            gone = procs.wait_for(lambda: True if not procs.alive(grandchild) else None, 5.0)
            orphan = "no" if gone else "yes"
    if stopped is None:
        return {"restarted": f"no (not within {cfg.tree_wait_s:g} s)", "orphan": None}
    return {
        "restarted": "yes",
        "delay_s": stopped["t"] - grandchild_ready["t"],
        "orphan": orphan,
    }
