"""What each reader costs, next to the raw /proc read measured in the same run.

    python bench/readers_bench.py [--children 50] [--rss-mb 0]

Prints µs per call (median over repeats of a timed batch) and the ratio to a raw
open+read+close of /proc/PID/statm. Spawns a shell with N sleeping children for the tree
rows; --rss-mb grows this process first so smaps_rollup is timed at that RSS.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import psutil

from memwarden.readers.cgroup import find_memory_cgroup, read_cgroup_memory
from memwarden.readers.proc import (
    StatmReader,
    read_process_detail,
    read_process_memory,
)
from memwarden.readers.system import read_pressure, read_system_memory
from memwarden.readers.tree import (
    has_children_files,
    list_descendants,
    read_tree_memory,
)
from memwarden.sample import Sampler


def per_call_us(fn: Callable[[], object], batch: int, repeats: int) -> float:
    """Median over `repeats` of (batch wall time / batch), in µs; one warm-up batch first."""
    for _ in range(batch):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - start) / batch)
    return statistics.median(times) * 1e6


def raw_statm(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.read(fd, 256)
        finally:
            os.close(fd)

    return read


def spawn_tree(children: int) -> subprocess.Popen[bytes]:
    script = f"for i in $(seq {children}); do sleep 600 & done; echo ready; wait"
    shell = subprocess.Popen(
        ["sh", "-c", script], stdout=subprocess.PIPE, start_new_session=True
    )
    assert shell.stdout is not None
    if shell.stdout.readline().strip() != b"ready":
        raise RuntimeError("tree shell did not start")
    return shell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50)
    parser.add_argument("--rss-mb", type=int, default=0, help="grow RSS before smaps_rollup")
    args = parser.parse_args()

    pid = os.getpid()
    statm_path = f"/proc/{pid}/statm"
    rows: list[tuple[str, float]] = []

    def row(name: str, fn: Callable[[], object], batch: int = 2000, repeats: int = 31) -> None:
        rows.append((name, per_call_us(fn, batch, repeats)))

    row("raw open+read+close /proc/PID/statm (baseline)", raw_statm(statm_path))
    fd = os.open(statm_path, os.O_RDONLY)
    row("raw os.pread on a kept statm fd", lambda: os.pread(fd, 256, 0))
    os.close(fd)
    kept = StatmReader(pid)
    row("StatmReader.read_rss_bytes (kept fd)", kept.read_rss_bytes)
    kept.close()
    row("read_process_memory (statm + status)", lambda: read_process_memory(pid))
    process = psutil.Process(pid)
    row("psutil.Process.memory_info", process.memory_info)
    row("read_system_memory (/proc/meminfo)", read_system_memory, batch=500)
    row("read_pressure (/proc/pressure/memory)",
        lambda: read_pressure(Path("/proc/pressure/memory")), batch=500)

    location = find_memory_cgroup()
    if location is not None:
        row(f"read_cgroup_memory (v{location.version}, 5 files)",
            lambda: read_cgroup_memory(location), batch=200)
        usage_fd = os.open(location.path / (
            "memory.usage_in_bytes" if location.version == 1 else "memory.current"
        ), os.O_RDONLY)
        row("cgroup usage pread on a kept fd", lambda: os.pread(usage_fd, 64, 0))
        os.close(usage_fd)
        row("find_memory_cgroup (cgroup + mountinfo)", find_memory_cgroup, batch=200)

    shell = spawn_tree(args.children)
    try:
        root = shell.pid
        n = len(list_descendants(root))
        if has_children_files():
            row(f"list_descendants, {n} children (task/*/children)",
                lambda: list_descendants(root, use_children_files=True), batch=50, repeats=15)
        row(f"list_descendants, {n} children (scan /proc/*/stat)",
            lambda: list_descendants(root, use_children_files=False), batch=20, repeats=15)
        row(f"read_tree_memory, {n} children", lambda: read_tree_memory(root),
            batch=20, repeats=15)
        parent = psutil.Process(root)

        def psutil_tree() -> int:
            total = parent.memory_info().rss
            for child in parent.children(recursive=True):
                total += child.memory_info().rss
            return total

        row(f"psutil children(recursive) + memory_info, {n}", psutil_tree, batch=20, repeats=15)
        sampler = Sampler(pid=root)
        row(f"Sampler.sample, tree of {n} + cgroup + meminfo + PSI", sampler.sample,
            batch=20, repeats=15)
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
        assert shell.stdout is not None
        shell.stdout.close()

    ballast = b"\x01" * (args.rss_mb * 2**20)
    rss_mb = read_process_memory(pid).rss_bytes / 2**20
    row(f"read_process_detail (smaps_rollup) at RSS {rss_mb:.0f} MiB",
        lambda: read_process_detail(pid), batch=5, repeats=15)
    del ballast

    # The machine is shared: the baseline again at the end shows how much the load drifted.
    row("raw open+read+close /proc/PID/statm (again, at the end)", raw_statm(statm_path))
    baseline = rows[0][1]
    width = max(len(name) for name, _ in rows)
    print(f"{'reader':<{width}}  {'µs/call':>10}  {'× raw read':>10}")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 10}")
    for name, us in rows:
        print(f"{name:<{width}}  {us:>10.1f}  {us / baseline:>10.2f}")
    print(f"\npython {sys.version.split()[0]}, psutil {psutil.__version__}, "
          f"{len([p for p in os.listdir('/proc') if p.isdigit()])} processes on the host")


if __name__ == "__main__":
    main()
