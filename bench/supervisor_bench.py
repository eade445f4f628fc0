"""Supervisor bench: idle cost of `memwarden run`, and threshold-crossing -> SIGTERM delay.

    python bench/supervisor_bench.py [--idle-s 15] [--runs 15]

1. Idle: `memwarden run --limit 512M -- sleep 600` for --idle-s seconds; RSS and CPU of the
   supervisor, its /bin/sh sentinel and the `sleep` child, against a bare Python interpreter
   (`python -c "wait"`) measured in the same run.
2. Delay: a child waits a random 0-200 ms, then allocates 1 MiB per ms (~1 GB/s) and records,
   from /proc/self/statm, when its RSS crosses the restart threshold (95% of --limit 200M)
   and when its SIGTERM handler runs; median/p90 over --runs memory restarts, at the default
   100 ms interval and at 10 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import table

SRC = Path(__file__).resolve().parent.parent / "src"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    fields = raw[raw.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def wait_until(condition: object, timeout_s: float = 60.0) -> None:
    assert callable(condition)
    pause, deadline = threading.Event(), time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        pause.wait(0.02)


def idle(idle_s: float, tmp: Path) -> None:
    baseline = subprocess.Popen([sys.executable, "-c", "import threading; "
                                 "threading.Event().wait(600)"])
    sup = subprocess.Popen(
        [sys.executable, "-m", "memwarden", "run", "--limit", "512M", "--control-socket",
         str(tmp / "idle.sock"), "--", "sleep", "600"],
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(children(sup.pid)) == 2)
        pause = threading.Event()
        pause.wait(1.0)  # start-up work (imports, first samples) is not idle cost
        kids = children(sup.pid)
        sleeper = next(k for k in kids if Path(f"/proc/{k}/comm").read_text().strip() == "sleep")
        sentinel = next(k for k in kids if k != sleeper)
        watched = {"memwarden run (supervisor)": sup.pid, "sentinel (/bin/sh)": sentinel,
                   "child: sleep": sleeper, "baseline: bare python": baseline.pid}
        cpu0 = {name: cpu_s(pid) for name, pid in watched.items()}
        start = time.monotonic()
        pause.wait(idle_s)
        elapsed = time.monotonic() - start
        base_rss = rss_bytes(baseline.pid)
        rows = []
        for name, pid in watched.items():
            rss = rss_bytes(pid)
            cpu_pct = (cpu_s(pid) - cpu0[name]) / elapsed * 100
            rows.append((name, f"{rss / 2**20:.1f}", f"{rss / base_rss:.2f}", f"{cpu_pct:.2f}"))
        print(f"\n### Idle, one program, {elapsed:.0f} s, default interval 100 ms\n")
        print(table(("process", "RSS MiB", "RSS / bare python", "CPU %"), rows))
    finally:
        for proc in (sup, baseline):
            proc.terminate()
            proc.wait(timeout=30)


CHILD = """
    import os, signal, sys, time
    out, threshold = sys.argv[1], int(sys.argv[2])
    page = os.sysconf("SC_PAGE_SIZE")
    statm = os.open("/proc/self/statm", os.O_RDONLY)
    crossed = None
    def on_term(*_):
        with open(out, "a") as f:
            f.write(f"{crossed} {time.time()}\\n")
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    # A random start, so crossings fall anywhere between two samples (else start-up time
    # phase-locks them to the supervisor's ticks).
    time.sleep(int.from_bytes(os.urandom(2), "little") / 65536 * 0.2)
    held = []
    next_s = time.monotonic()
    while True:
        held.append(b"x" * 2**20)
        if crossed is None and int(os.pread(statm, 64, 0).split()[1]) * page >= threshold:
            crossed = time.time()
        next_s += 0.001
        delay = next_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # paces the allocation rate; the child is the workload
        if len(held) > 2000:
            os._exit(3)  # never noticed: fail loudly rather than eat the machine
"""


def delay(runs: int, interval: str, tmp: Path) -> list[float]:
    script = tmp / "alloc.py"
    script.write_text(textwrap.dedent(CHILD))
    out = tmp / f"delay-{interval}.txt"
    out.unlink(missing_ok=True)
    limit = 200 * 2**20
    threshold = int(limit * 0.95)
    sup = subprocess.run(
        [sys.executable, "-m", "memwarden", "run", "--limit", "200M", "--interval", interval,
         "--max-restarts", str(runs - 1), "--control-socket", str(tmp / "delay.sock"), "--",
         sys.executable, str(script), str(out), str(threshold)],
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600,
    )
    delays = []
    for line in out.read_text().splitlines():
        crossed, termed = line.split()
        # "None": the supervisor saw the crossing before the child's own check after that
        # 1 MiB step: a delay within one step, counted as 0.
        delays.append(0.0 if crossed == "None" else (float(termed) - float(crossed)) * 1000)
    if len(delays) != runs:
        print(sup.stderr[-2000:])
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        idle(args.idle_s, tmp)
        rows = []
        for interval, interval_ms in (("100ms", 100.0), ("10ms", 10.0)):
            values = sorted(delay(args.runs, interval, tmp))
            p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
            median = statistics.median(values)
            rows.append((interval, len(values), f"{median:.1f}", f"{p90:.1f}",
                         f"{max(values):.1f}", f"{median / interval_ms:.2f}"))
        print(f"\n### Threshold crossing -> child's SIGTERM handler runs ({args.runs} runs, "
              "allocating ~1 GiB/s)\n")
        print(table(("interval", "runs", "median ms", "p90 ms", "max ms",
                     "median / interval"), rows))


if __name__ == "__main__":
    main()
