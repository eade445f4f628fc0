"""CPU the in-process guardian costs an idle process, at 1 s and 0.1 s intervals.

    python bench/guardian_bench.py [--seconds 10]

Each variant is a fresh interpreter that imports memwarden, optionally starts the guardian,
then waits; its CPU time (user+sys from wait4) is compared with the same process without a
guardian. Overhead = extra CPU seconds / wall seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import median, table

SRC = Path(__file__).resolve().parent.parent / "src"
CHILD = """
import sys, threading, memwarden
interval = sys.argv[1]
if interval != "none":
    memwarden.start(interval=float(interval), limit="4G")
threading.Event().wait(float(sys.argv[2]))
"""


def cpu_seconds(interval: str, seconds: float) -> float:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, interval, str(seconds)], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child with interval {interval} failed")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    variants = {"no guardian (baseline)": "none", "guardian 1 s": "1.0", "guardian 0.1 s": "0.1",
                "guardian 0.01 s": "0.01"}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, interval in variants.items():
            cpu[name].append(cpu_seconds(interval, args.seconds))
    base = median(cpu["no guardian (baseline)"])
    rows = []
    for name, values in cpu.items():
        extra_s = median(values) - base
        rows.append([name, f"{median(values) * 1000:.0f}", f"{extra_s * 1000:+.0f}",
                     f"{max(extra_s, 0.0) / args.seconds:.3%}"])
    print(f"guardian CPU overhead, {args.seconds:.0f} s idle process, median of {args.runs}\n")
    print(table(["variant", "CPU ms", "extra CPU ms", "overhead (CPU/wall)"], rows))


if __name__ == "__main__":
    main()
