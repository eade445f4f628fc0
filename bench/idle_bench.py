"""Idle CPU of a supervisor watching `sleep`: memwarden against supervisord, in one run.

    python bench/idle_bench.py [--seconds 60]

Runs side by side for --seconds once start-up is over (at least 3 s, and until no process
used more than 5 ms of CPU in a second):

- `memwarden run --limit 200M -- sleep 3600` (this tree's src), with every default, and the
  same with `--leak-window off` (what the leak detector's periodic fit costs);
- the floor: a `python -S` loop that starts `sleep 3600`, then wakes once a second (epoll
  with a 1 s timeout) and preads the child's statm on a kept fd: what any Python supervisor
  sampling a tree once a second cannot go below;
- `supervisord` (nodaemon, one `sleep 3600` program; installed from PyPI into the
  comparison's sandbox venv bench/compare/.sandbox/venv on first use; skipped when it cannot
  be installed).

CPU time is the sum of every thread's on-CPU time from /proc/PID/task/*/schedstat
(nanoseconds, unlike the 10 ms ticks of /proc/PID/stat), of the supervisor process only: the
watched `sleep` costs nothing either way. Goal: memwarden <= 0.05 % of one core.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _schedstat import cpu_ns  # noqa: E402
from _table import table  # noqa: E402

GOAL_PERCENT = 0.05
LEAK_OFF = "memwarden run, --leak-window off"
SETTLE_S = 3.0
SETTLE_MAX_S = 30
SETTLED_NS = 5_000_000  # 5 ms in a second: 10x the idle figure, far below start-up
FLOOR = "python -S, one wakeup and one statm pread a second"
FLOOR_LOOP = """
import os, select, subprocess
child = subprocess.Popen(["sleep", "3600"])
fd = os.open(f"/proc/{child.pid}/statm", os.O_RDONLY)
poll = select.epoll()
while True:
    poll.poll(1.0)
    os.pread(fd, 256, 0)
"""
SANDBOX_VENV = ROOT / "bench" / "compare" / ".sandbox" / "venv"
SUPERVISOR_PIN = "supervisor==4.3.0"  # as bench/compare/compare_sandbox.py pins it


def supervisord_bin() -> Path | None:
    binary = SANDBOX_VENV / "bin" / "supervisord"
    if binary.exists():
        return binary
    try:
        if not (SANDBOX_VENV / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(SANDBOX_VENV)], check=True)
        subprocess.run([str(SANDBOX_VENV / "bin" / "pip"), "install", "--quiet", SUPERVISOR_PIN],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"supervisord unavailable ({err}): reference row skipped")
        return None
    return binary if binary.exists() else None


def start_memwarden(tmp: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "memwarden", "run", "--limit", "200M", "--control-socket",
         str(tmp / f"memwarden{len(extra)}.sock"), *extra, "--", "sleep", "3600"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_floor() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-S", "-c", FLOOR_LOOP], start_new_session=True)


def start_supervisord(binary: Path, tmp: Path) -> subprocess.Popen[bytes]:
    conf = tmp / "supervisord.conf"
    conf.write_text(f"""
[supervisord]
nodaemon=true
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid
childlogdir={tmp}

[program:sleep]
command=sleep 3600
startsecs=0
""")
    return subprocess.Popen([str(binary), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def settle(procs: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    """Wait until start-up is over (imports and the first samples are not idle cost): at
    least SETTLE_S, then until no process used more than SETTLED_NS of CPU in a second (on a
    busy host start-up takes longer than a fixed wait); each one's CPU time then."""
    threading.Event().wait(SETTLE_S)
    last_ns = {name: cpu_ns(p.pid) for name, p in procs.items()}
    for _ in range(SETTLE_MAX_S):
        threading.Event().wait(1.0)
        now_ns = {name: cpu_ns(p.pid) for name, p in procs.items()}
        settled = all(now_ns[name] - last_ns[name] <= SETTLED_NS for name in procs)
        last_ns = now_ns
        if settled:
            break
    return last_ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    binary = supervisord_bin()
    with tempfile.TemporaryDirectory(prefix="memwarden-idle-") as tmp_name:
        tmp = Path(tmp_name)
        procs = {"memwarden run --limit 200M": start_memwarden(tmp),
                 LEAK_OFF: start_memwarden(tmp, "--leak-window", "off"), FLOOR: start_floor()}
        if binary is not None:
            procs["supervisord 4.3.0"] = start_supervisord(binary, tmp)
        try:
            start_ns = settle(procs)

            started_s = time.monotonic()
            threading.Event().wait(args.seconds)
            elapsed_s = time.monotonic() - started_s
            percent = {name: 100 * (cpu_ns(p.pid) - start_ns[name]) / 1e9 / elapsed_s
                       for name, p in procs.items()}
        finally:
            os.killpg(procs[FLOOR].pid, signal.SIGTERM)  # the loop and its sleep
            for p in procs.values():
                p.terminate()
            for p in procs.values():
                p.wait(timeout=30)
    ours = percent["memwarden run --limit 200M"]
    reference = percent.get("supervisord 4.3.0")
    floor = percent[FLOOR]
    rows = [["goal", f"{GOAL_PERCENT:.3f} %", ""],
            [f"floor: {FLOOR}", f"{floor:.4f} %",
             f"{floor / reference:.2f}" if reference else "-"]]
    if reference is not None:
        rows.append(["supervisord 4.3.0 (reference)", f"{reference:.4f} %", "1.00"])
    rows.append(["memwarden run --limit 200M -- sleep", f"{ours:.4f} %",
                 f"{ours / reference:.2f}" if reference else "-"])
    leak_off = percent[LEAK_OFF]
    rows.append([f"same, {LEAK_OFF.split(', ')[1]}", f"{leak_off:.4f} %",
                 f"{leak_off / reference:.2f}" if reference else "-"])
    print(f"idle supervisor CPU, % of one core, over {elapsed_s:.0f} s")
    print(table(["", "CPU", "/ reference"], rows))
    print(f"memwarden / goal: {ours / GOAL_PERCENT:.2f}")


if __name__ == "__main__":
    main()
