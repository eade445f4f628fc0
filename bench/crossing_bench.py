"""Crossing -> SIGTERM through `memwarden run`, on the child's own clock.

    python bench/crossing_bench.py [--runs 10] [--limit-mib 300]

A child under `memwarden run --limit 300M --restart 100%` jumps to 24 MiB below the threshold,
then leaks at a steady rate in 256 KiB steps. After every step it reads its own RSS by pread
of /proc/self/statm and notes CLOCK_MONOTONIC when RSS first reaches the threshold; its
SIGTERM handler notes the clock again. Latency = handler - crossing: everything between the
allocation and the program hearing about it (kernel event or poll, sampling, the policy,
logging, the signal). Each generation is restarted; --runs generations per row.

Rows: event mode (owned cgroup: tier thresholds as eventfds; needs root and a v1 memory
hierarchy) and poll mode (`--no-cgroup`, the default 100 ms interval) as the reference, at
20 MiB/s and 100 MiB/s. Goal: event-mode median <= 5 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _table import median, table  # noqa: E402

GOAL_MS = 5.0
STEP_BYTES = 256 * 1024
CHILD = r"""
import os, signal, sys, threading, time
out, threshold, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
page = os.sysconf("SC_PAGE_SIZE")
statm = os.open("/proc/self/statm", os.O_RDONLY)
crossed = [0]
def rss():
    return int(os.pread(statm, 64, 0).split()[1]) * page
def on_term(signum, frame):
    now = time.monotonic_ns()
    with open(out, "a") as f:
        f.write(f"{crossed[0]} {now}\n")
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
held = [bytearray(max(0, threshold - 24 * 2**20 - rss()))]
held[0][::page] = b"x" * len(held[0][::page])
step, pause = 256 * 1024, threading.Event()
delay_s = step / rate
next_s = time.monotonic()
while True:
    chunk = bytearray(step)
    chunk[::page] = b"x" * len(chunk[::page])
    held.append(chunk)
    if not crossed[0] and rss() >= threshold:
        crossed[0] = time.monotonic_ns()
    next_s += delay_s
    pause.wait(max(0.0, next_s - time.monotonic()))
"""


def run_row(mode: str, rate_mib_s: int, runs: int, limit_mib: int, workdir: Path) -> list[float]:
    out = workdir / f"{mode}-{rate_mib_s}.txt"
    child = workdir / "leak.py"
    child.write_text(CHILD)
    config = workdir / "memwarden.toml"
    config.write_text('[supervisor]\nbackoff = "10ms"\nbackoff_max = "10ms"\n')
    threshold = limit_mib * 2**20
    argv = [sys.executable, "-m", "memwarden", "run", "--config", str(config),
            "--limit", f"{limit_mib}M", "--restart", "100%", "--max-restarts", str(runs * 3),
            "--control-socket", str(workdir / f"{mode}-{rate_mib_s}.sock")]
    if mode == "poll":
        argv.append("--no-cgroup")
    argv += ["--", sys.executable, str(child), str(out), str(threshold),
             str(rate_mib_s * 2**20)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with open(workdir / f"{mode}-{rate_mib_s}.log", "wb") as err:
        sup = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 30 + runs * 10
    pause = threading.Event()
    while time.monotonic() < deadline and sup.poll() is None:
        if out.exists() and len(out.read_text().splitlines()) >= runs:
            break
        pause.wait(0.05)
    sup.terminate()
    sup.wait(timeout=60)
    latencies = []
    for line in out.read_text().splitlines()[:runs] if out.exists() else []:
        crossed_ns, term_ns = map(int, line.split())
        if crossed_ns:  # 0: SIGTERM before the crossing (a stop, not a memory restart)
            latencies.append((term_ns - crossed_ns) / 1e6)
    return latencies


def can_own_cgroups() -> bool:
    sys.path.insert(0, str(ROOT / "src"))
    from memwarden.supervisor import cgroupctl

    try:
        cgroupctl.find_parent()
    except cgroupctl.CgroupUnavailable:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--limit-mib", type=int, default=300)
    args = parser.parse_args()
    modes = ["event", "poll"] if can_own_cgroups() else ["poll"]
    if "event" not in modes:
        print("no cgroup control here (root and a writable memory hierarchy): poll mode only")
    rows = []
    with tempfile.TemporaryDirectory(prefix="memwarden-crossing-") as tmp:
        for rate in (20, 100):
            found = {mode: run_row(mode, rate, args.runs, args.limit_mib, Path(tmp))
                     for mode in modes}
            event = found.get("event", [])
            poll = found["poll"]
            p50_event = median(event) if event else float("nan")
            p50_poll = median(poll) if poll else float("nan")
            rows.append([f"{rate} MiB/s", f"{GOAL_MS:g} ms", f"{p50_poll:.1f} ms (n={len(poll)})",
                         f"{p50_event:.2f} ms (n={len(event)})",
                         f"{max(event) if event else float('nan'):.2f} ms",
                         f"{p50_event / GOAL_MS:.2f}", f"{p50_event / p50_poll:.3f}"])
    print(f"crossing -> SIGTERM handler, `memwarden run --limit {args.limit_mib}M "
          "--restart 100%`, child's clock, medians")
    print(table(["leak rate", "goal", "reference: poll 100 ms (--no-cgroup)",
                 "memwarden event mode", "event max", "event / goal", "event / poll"], rows))


if __name__ == "__main__":
    main()
