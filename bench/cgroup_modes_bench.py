"""Spike outcome and detection latency per cgroup mode: what memwarden gives with an owned
cgroup (v1 or v2, root), in a container's read-only view (v2), and rootless in a delegated
subtree (v2). Each spike starts 100 MiB below the wall and allocates as fast as it can.

    python bench/cgroup_modes_bench.py [--runs 3] [--wall-mib 300]
    cgroup2-run --timeout 900 -- python bench/cgroup_modes_bench.py   # the v2 modes

Modes, each `memwarden run` with the default 100 ms poll and --restart 95 %:

- owned:     `--limit WALL`: memwarden owns the program's group (v1 oom_kill_disable or v2
             memory.high below memory.max, events, headroom after SIGTERM);
- container: v2 only, no `--limit`: memwarden and the program inside a cgroup namespace rooted
             at a group with memory.max = WALL, cgroupfs read-only (Docker, Kubernetes): the
             limit is read, nothing can be owned, the kernel's OOM killer guards the wall;
- rootless:  v2 only, `--limit WALL` as uid 65534 in a subtree chowned to it (Delegate=yes).

Graceful = the spiking generation's on_shutdown hook ran; killed = its exit was SIGKILL (the
kernel: nobody else sends it). Latency = the SIGTERM handler's start minus the moment the
child's own statm first showed RSS at or above the restart threshold (checked every 4 MiB).
Rate = how fast the child allocated (MiB/s): the guest emulates its CPU, so its spikes are
much slower than the same code on hardware; compare the rate with the poll to read a row.
Needs root (exits 0 with a message otherwise).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # the test helpers, as the package tests

from _table import median, table  # noqa: E402
from tests.cgroup2.v2_helpers import (  # noqa: E402
    TEST_UID,
    as_user_in,
    container_prefix,
    delegate,
    rootless_reason,
)
from tests.cgroup_helpers import (  # noqa: E402
    memory_cgroup_version,
    remove_tree,
    v2_unavailable_reason,
)

MIB = 1024 * 1024

# Holds WALL - 100 MiB, says ready, then spikes (every generation but the last, which idles).
# Its SIGTERM hook writes: pid, handler time, threshold-crossing time, spike start, and the
# MiB allocated from the start to the crossing (the spike's rate, before any wall slows it).
CHILD = """
import os, sys, threading, time
import memwarden
hook_file, ready_file = sys.argv[1], sys.argv[2]
runs, threshold, start_mib = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
page = os.sysconf("SC_PAGE_SIZE")
crossed, started, n, crossed_n = [0.0], [0.0], [0], [0]
def save():
    with open(hook_file, "a") as f:
        f.write(f"{os.getpid()} {time.monotonic()} {crossed[0]} {started[0]} {crossed_n[0]}\\n")
memwarden.on_shutdown(save)
memwarden.start(restart="off", interval="10s")
held = [bytearray(start_mib * 1024 * 1024)]
done = len(open(ready_file).read().split()) if os.path.exists(ready_file) else 0
with open(ready_file, "a") as f:
    f.write(f"{os.getpid()}\\n")
if done >= runs:
    threading.Event().wait(600)
statm = os.open("/proc/self/statm", os.O_RDONLY)
started[0] = time.monotonic()
while True:
    held.append(bytearray(1024 * 1024))
    n[0] += 1
    if not crossed[0] and n[0] % 4 == 0:
        if int(os.pread(statm, 64, 0).split()[1]) * page >= threshold:
            crossed[0] = time.monotonic()
            crossed_n[0] = n[0]
"""


def run_mode(mode: str, runs: int, wall_mib: int, workdir: Path) -> dict[str, object]:
    wall = wall_mib * MIB
    threshold = wall * 95 // 100
    hook, ready = workdir / f"{mode}.hook", workdir / f"{mode}.ready"
    child = workdir / "spike.py"
    child.write_text(CHILD)
    config = workdir / "memwarden.toml"
    config.write_text('[supervisor]\nbackoff = "10ms"\nbackoff_max = "10ms"\n')
    argv = [sys.executable, "-m", "memwarden", "run", "--config", str(config),
            "--max-restarts", str(runs * 2), "--control-socket", str(workdir / f"{mode}.sock")]
    if mode != "container":
        argv += ["--limit", f"{wall_mib}M"]
    argv += ["--", sys.executable, str(child), str(hook), str(ready), str(runs),
             str(threshold), str(wall_mib - 100)]
    group: Path | None = None
    prefix: list[str] = []
    if mode in ("container", "rootless"):
        group = Path("/sys/fs/cgroup") / f"bench-{mode}.{os.getpid()}"
        group.mkdir()
        if mode == "container":
            (group / "memory.max").write_text(str(wall))
            prefix = container_prefix(group)
        else:
            delegate(group)
            os.chown(workdir, TEST_UID, TEST_UID)
            prefix = as_user_in(group)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = workdir / f"{mode}.log"
    with open(log, "wb") as err:
        sup = subprocess.Popen([*prefix, *argv], env=env, stdout=subprocess.DEVNULL,
                               stderr=err, start_new_session=True)
    deadline = time.monotonic() + 120 + runs * 120
    pause = threading.Event()
    while time.monotonic() < deadline and sup.poll() is None:
        if ready.exists() and len(ready.read_text().split()) > runs:
            break
        pause.wait(0.1)
    sup.terminate()
    sup.wait(timeout=120)
    if group is not None:
        remove_tree(group)
    pids = ready.read_text().split()[:runs] if ready.exists() else []
    hooks = {}
    for line in (hook.read_text().splitlines() if hook.exists() else []):
        pid, handler_s, crossed_s, started_s, mib = line.split()
        hooks[pid] = (float(handler_s), float(crossed_s), float(started_s), int(mib))
    spiked = [hooks[p] for p in pids if p in hooks and hooks[p][1] > 0]
    latencies = [(h[0] - h[1]) * 1000 for h in spiked]
    rates = [h[3] / (h[1] - h[2]) for h in spiked if h[1] > h[2]]
    text = log.read_text(errors="replace")
    return {"mode": mode, "runs": len(pids), "graceful": sum(p in hooks for p in pids),
            "killed": text.count("OOM-killed") or text.count("killed by SIGKILL"),
            "latencies_ms": latencies, "rates": rates,
            "detection": next((ln.split("detection: ")[1].split(" (")[0]
                               for ln in text.splitlines() if "detection: " in ln), "-")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wall-mib", type=int, default=300)
    parser.add_argument("--modes", default="", help="comma-separated; default: all possible")
    args = parser.parse_args()
    version = memory_cgroup_version()
    if os.geteuid() != 0 or version is None:
        print("skipped: needs root and a writable memory cgroup hierarchy")
        return
    modes = ["owned"]
    if version == 2 and v2_unavailable_reason() is None and shutil.which("unshare"):
        modes.append("container")
    if version == 2 and rootless_reason(ROOT / "src") is None:
        modes.append("rootless")
    if args.modes:
        modes = [m for m in args.modes.split(",") if m in modes]
    print(f"goal: a spike from 100 MiB below a {args.wall_mib} MiB wall ends gracefully "
          f"(its shutdown hook runs); cgroup v{version}; {args.runs} spike(s) per mode")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        for mode in modes:
            workdir = Path(tmp) / mode
            workdir.mkdir()
            r = run_mode(mode, args.runs, args.wall_mib, workdir)
            lat = sorted(r["latencies_ms"])  # type: ignore[type-var]
            rates = r["rates"]
            rows.append([
                f"v{version} {mode}", r["detection"], f"{r['graceful']}/{r['runs']}",
                r["killed"], f"{median(lat):.0f}" if lat else "-",
                f"{lat[-1]:.0f}" if lat else "-",
                f"{median(rates):.0f}" if rates else "-",  # type: ignore[arg-type]
            ])
    print(table(["mode", "detection", "graceful", "killed", "latency median ms",
                 "latency max ms", "spike MiB/s"], rows))


if __name__ == "__main__":
    main()
