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
# The child reports the CPU it used while idling under the guardian, after start-up (import
# and first sample cost ~90 ms once; the import bench covers them).
CHILD = """
import sys, threading, time, memwarden
interval = sys.argv[1]
if interval != "none":
    memwarden.start(interval=float(interval), limit="4G")
begin = time.process_time()
threading.Event().wait(float(sys.argv[2]))
print(time.process_time() - begin)
"""


def cpu_seconds(interval: str, seconds: float) -> float:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([sys.executable, "-c", CHILD, interval, str(seconds)], env=env,
                            capture_output=True, text=True, check=True)
    return float(result.stdout)


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
    print(f"guardian CPU overhead while idle for {args.seconds:.0f} s after start-up, "
          f"median of {args.runs}\n")
    print(table(["variant", "CPU ms", "extra CPU ms", "overhead (CPU/wall)"], rows))


if __name__ == "__main__":
    main()
