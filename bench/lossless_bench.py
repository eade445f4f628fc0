"""Spike bench: a child allocating as fast as it can from 100 MB below its cgroup's wall.

    python bench/lossless_bench.py [--runs 20] [--limit-mib 300]

Per run, the bench plays the supervisor with the lossless primitives: an owned v1 cgroup
(OwnedCgroup), the restart threshold 50 MiB below the wall, and one of three detectors:

- event:    cgroup v1 threshold eventfd (+ OOM eventfd), oom_kill_disable=1
- poll100:  usage polled every 100 ms (pread on a kept fd), oom_kill_disable=1
- kernel:   the same 100 ms poll, but oom_kill_disable=0: what a polling supervisor without
            cgroup ownership gets (the baseline: the kernel's OOM killer wins the race)

On detection: SIGTERM the child's group, then lift a paused wall by 32 MiB (pause -> SIGTERM ->
headroom), again if it pauses again. Graceful = the child's SIGTERM handler wrote its file and
it exited 0. Detection latency = SIGTERM sent - the moment the child's own allocation count
reached the chunk that crosses the threshold (CLOCK_MONOTONIC is shared by processes; the
crossing itself is up to one 1 MiB chunk, ~0.6 ms, later). Needs root (skips otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import median, table

from memwarden.supervisor import cgroupctl, notify

MIB = 1024 * 1024
THRESHOLD_BELOW_WALL = 50 * MIB
START_BELOW_WALL = 100 * MIB
POLL_S = 0.1

CHILD = r"""
import json, os, signal, sys, time
hook_file = sys.argv[1]
crossed = [0.0]
def on_term(signum, frame):
    with open(hook_file, "w") as f:
        f.write(json.dumps({"crossed": crossed[0], "handled": time.monotonic()}))
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
hold = [b"x" * (1 << 20) for _ in range(int(sys.stdin.readline()))]
print("held", flush=True)
to_cross = int(sys.stdin.readline())
n = 0
while True:
    n += 1
    if n == to_cross:  # the chunk during which usage crosses the threshold starts now
        crossed[0] = time.monotonic()
    hold.append(b"x" * (1 << 20))
"""


@dataclass
class Run:
    outcome: str  # graceful / oom-killed / other
    latency_s: float | None  # crossing -> SIGTERM sent
    handled_s: float | None  # SIGTERM sent -> handler ran


def _line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    return child.stdout.readline().strip()


def _send(child: subprocess.Popen[str], text: str) -> None:
    assert child.stdin is not None
    child.stdin.write(text + "\n")
    child.stdin.flush()


def one_run(group: cgroupctl.OwnedCgroup, mode: str, work: Path) -> Run:
    hook_file = work / "hook.json"
    hook_file.unlink(missing_ok=True)
    group.reset_limits()
    (group.path / "memory.oom_control").write_text("0" if mode == "kernel" else "1")
    oom_kills_before = group.oom_kill_count()
    threshold = group.hard_limit_bytes - THRESHOLD_BELOW_WALL
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(hook_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=group.preexec, process_group=0,
    )
    notifiers: list[notify.Notifier] = []
    try:
        assert _line(child) == "ready"
        start_bytes = group.hard_limit_bytes - START_BELOW_WALL
        _send(child, str(max(0, (start_bytes - group.usage_bytes()) // MIB)))
        assert _line(child) == "held"
        to_cross = -(-(threshold - group.usage_bytes()) // MIB)
        if mode == "event":
            notifiers = notify.arm_v1(group.path, threshold)
        selector = selectors.DefaultSelector()
        for notifier in notifiers:
            selector.register(notifier, selectors.EVENT_READ)
        _send(child, str(to_cross))
        sent_s: float | None = None
        grants = 0
        ticker = threading.Event()
        # A real poll loop's phase is unrelated to when a spike starts: start at a random one.
        wait_s = random.uniform(0, POLL_S)
        while child.poll() is None:
            if notifiers:
                for key, _ in selector.select(wait_s):  # the slow backup poll is the timeout
                    key.fileobj.drain()  # type: ignore[union-attr]
            else:
                ticker.wait(wait_s)
            wait_s = POLL_S
            if sent_s is None and (group.usage_bytes() >= threshold or group.is_paused()):
                sent_s = time.monotonic()
                os.killpg(child.pid, signal.SIGTERM)
            if sent_s is not None and grants < 8 and group.is_paused():
                group.grant_headroom()
                grants += 1
            if sent_s is not None and time.monotonic() - sent_s > 30:
                break
        selector.close()
        returncode = child.wait(30)
    finally:
        notify.close_all(notifiers)
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
    if returncode == 0 and hook_file.exists():
        stamps = json.loads(hook_file.read_text())
        latency = sent_s - stamps["crossed"] if sent_s and stamps["crossed"] else None
        return Run("graceful", latency, stamps["handled"] - sent_s if sent_s else None)
    if returncode == -signal.SIGKILL and group.oom_kill_count() > oom_kills_before:
        return Run("oom-killed", None, None)
    return Run(f"other (exit {returncode})", None, None)


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="lossless spike bench")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--limit-mib", type=int, default=300)
    args = parser.parse_args()
    try:
        group = cgroupctl.OwnedCgroup.create("bench", args.limit_mib * MIB)
    except cgroupctl.CgroupUnavailable as err:
        print(f"skipped: cannot own a memory cgroup here: {err}")
        return
    results: dict[str, list[Run]] = {}
    try:
        with tempfile.TemporaryDirectory() as work:
            for mode in ("event", "poll100", "kernel"):
                results[mode] = [one_run(group, mode, Path(work)) for _ in range(args.runs)]
    finally:
        group.destroy()

    base = [r.latency_s for r in results["poll100"] if r.latency_s is not None]
    base_median = median(base) if base else None
    print(f"spike from {START_BELOW_WALL // MIB} MiB below a {args.limit_mib} MiB wall, "
          f"threshold {THRESHOLD_BELOW_WALL // MIB} MiB below it, {args.runs} runs per mode")
    header = ("mode", "graceful", "OOM-killed", "other", "latency p50 ms", "p95 ms",
              "max ms", "p50 vs poll100", "SIGTERM->hook p50 ms")
    rows = []
    for mode, runs in results.items():
        lat = [r.latency_s for r in runs if r.latency_s is not None]
        handled = [r.handled_s for r in runs if r.handled_s is not None]
        ratio = f"{median(lat) / base_median:.3f}x" if lat and base_median else "-"
        graceful = sum(r.outcome == "graceful" for r in runs)
        killed = sum(r.outcome == "oom-killed" for r in runs)
        rows.append([mode, f"{graceful}/{len(runs)}", f"{killed}/{len(runs)}",
                     len(runs) - graceful - killed, _ms(lat, 0.5), _ms(lat, 0.95),
                     _ms(lat, 1.0), ratio, _ms(handled, 0.5)])
    print(table(header, rows))
    print("latency: crossing -> SIGTERM sent, graceful runs only")
    others = {r.outcome for runs in results.values() for r in runs if r.outcome.startswith("o")}
    if others - {"oom-killed"}:
        print("other outcomes:", sorted(others - {"oom-killed"}))


if __name__ == "__main__":
    main()
