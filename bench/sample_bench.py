"""What one sample costs: one process, and a tree of 50 children, against references.

    python bench/sample_bench.py [--children 50]

Rows, medians of 7 batches each, all in this run (so the ratios hold on a noisy machine):

1. One process (what the samplers call per tick for a single-process program: the tree
   reader of a tree of one). References: a bare pread of a kept /proc/PID/statm fd (the
   physical limit) and psutil.Process.memory_info(). Also shown: the one-off reader that
   opens statm and status every call (what the samplers called before). Goal <= 5 us.
2. A tree of --children sleeping children. References: a bare walk by pread of kept statm
   and task/*/children fds (the physical limit) and psutil's children(recursive=True) plus
   memory_info() each. Also shown: the one-off tree read (opens every file, reads status),
   and the reader as if every process's memory had moved (idle children repeat their statm
   bytes, which the reader does not parse again). Goal <= 0.3 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
from _table import table  # noqa: E402

from memwarden.readers.kept import TreeReader  # noqa: E402
from memwarden.readers.proc import read_process_memory  # noqa: E402
from memwarden.readers.tree import read_tree_memory  # noqa: E402

GOAL_ONE_US = 5.0
GOAL_TREE_US = 300.0


def per_call_us(fn: Callable[[], object], batch: int) -> float:
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        timings.append((time.perf_counter() - start) / batch)
    return statistics.median(timings) * 1e6


def bare_walk(statm_fds: list[int], children_fds: list[int]) -> Callable[[], int]:
    """The least a tree sample can do in Python: one pread per file, sum the RSS."""
    def walk() -> int:
        total = 0
        for fd in children_fds:
            os.pread(fd, 4096, 0)
        for fd in statm_fds:
            total += int(os.pread(fd, 256, 0).split()[1])
        return total
    return walk


def every_statm_changed(reader: TreeReader) -> Callable[[], object]:
    """Idle children repeat their statm bytes and are not parsed again; this forgets all but
    the virtual size first, so every process is parsed as if its RSS had moved (busy
    workers) while its mappings stayed (no thread re-listing)."""
    kept = reader._kept

    def read() -> object:
        for entry in kept.values():
            entry.raw = entry.raw[:entry.raw.find(b" ") + 1]
        return reader.read()
    return read


def psutil_tree(root: psutil.Process) -> Callable[[], int]:
    def read() -> int:
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    return read


def row(name: str, us: float, goal_us: float | None, reference_us: float) -> list[str]:
    return [name, f"{us:.2f} us", f"{us / reference_us:.2f}",
            f"{us / goal_us:.2f}" if goal_us else ""]


def one_process() -> list[list[str]]:
    child = subprocess.Popen(["sleep", "600"])
    try:
        pid = child.pid
        statm = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
        limit_us = per_call_us(lambda: os.pread(statm, 256, 0), 5000)
        process = psutil.Process(pid)
        psutil_us = per_call_us(process.memory_info, 2000)
        oneoff_us = per_call_us(lambda: read_process_memory(pid), 2000)
        with TreeReader(pid) as reader:
            ours_us = per_call_us(reader.read, 5000)
        os.close(statm)
    finally:
        child.kill()
        child.wait()
    return [
        row("kept-fd statm pread (reference: the limit)", limit_us, GOAL_ONE_US, limit_us),
        row("psutil memory_info()", psutil_us, GOAL_ONE_US, limit_us),
        row("one-off: open statm + status", oneoff_us, GOAL_ONE_US, limit_us),
        row("memwarden TreeReader.read(), 1 process", ours_us, GOAL_ONE_US, limit_us),
    ]


def tree(children: int) -> list[list[str]]:
    kids = [subprocess.Popen(["sleep", "600"]) for _ in range(children)]
    pid = os.getpid()
    fds: list[int] = []
    try:
        threading.Event().wait(0.5)  # every child has exec'd sleep
        with TreeReader(pid) as reader:
            pids = reader.read().pids
            statm_fds = [os.open(f"/proc/{p}/statm", os.O_RDONLY) for p in pids]
            children_fds = [os.open(f"/proc/{p}/task/{t}/children", os.O_RDONLY)
                            for p in pids for t in os.listdir(f"/proc/{p}/task")]
            fds = statm_fds + children_fds
            limit_us = per_call_us(bare_walk(statm_fds, children_fds), 200)
            psutil_us = per_call_us(psutil_tree(psutil.Process(pid)), 20)
            oneoff_us = per_call_us(lambda: read_tree_memory(pid), 20)
            ours_us = per_call_us(reader.read, 200)
            changed_us = per_call_us(every_statm_changed(reader), 200)
    finally:
        for fd in fds:
            os.close(fd)
        for kid in kids:
            kid.kill()
        for kid in kids:
            kid.wait()
    n = len(pids) - 1
    return [
        row(f"kept-fd walk, {n} children (reference: the limit)", limit_us, GOAL_TREE_US,
            limit_us),
        row("psutil children(recursive) + memory_info()", psutil_us, GOAL_TREE_US, limit_us),
        row("one-off: open every file, statm + status", oneoff_us, GOAL_TREE_US, limit_us),
        row(f"memwarden TreeReader.read(), {n} children", ours_us, GOAL_TREE_US, limit_us),
        row("  same, as if every RSS moved (all parsed again)", changed_us, GOAL_TREE_US,
            limit_us),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=50)
    args = parser.parse_args()
    headers = ["", "per sample", "/ reference", "/ goal"]
    print(f"one process sample, goal {GOAL_ONE_US:g} us")
    print(table(headers, one_process()))
    print()
    print(f"tree sample, goal {GOAL_TREE_US / 1000:g} ms")
    print(table(headers, tree(args.children)))


if __name__ == "__main__":
    main()
