"""What `import memwarden; memwarden.start()` adds to a fresh interpreter: memory and time.

    python bench/import_bench.py [--runs 15]

Each run starts a fresh `python` for every variant (interleaved, so drift hits all alike), in
an empty directory (no memwarden.toml or pyproject.toml to parse), with MEMWARDEN_LIMIT=1G,
and with bytecode compiled once by a warm-up run (into a temporary PYTHONPYCACHEPREFIX, even
when PYTHONDONTWRITEBYTECODE is set), as an installed package has it.
The child times its own code (import and start), wall (perf_counter) and CPU of the whole
process (process_time: other load on a shared machine barely moves it), waits for two guardian
ticks, then reads its own VmRSS, its CPU time so far (the guardian thread's work included) and
the modules it holds. The baseline is `python -c pass` doing the same reads. Reported: medians
over runs, and the added RSS, time and modules against it.
The leak watch loads its detector and fit when its first evaluation is due: at half its window
(30 s by default) or once 512 samples are kept. The steady row ticks every 10 ms, so the watch
loads after 5.1 s (its fit already run on the kept samples, no baseline census due yet), and
reads RSS at 6 s: the steady state with the leak watch loaded, beside the start figures.
Goal: start() adds at most +5 MiB and +50 ms over the bare interpreter.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import median, table

SRC = Path(__file__).resolve().parent.parent / "src"
GOAL_RSS_BYTES = 5 * 2**20
GOAL_S = 0.050
# The child: the measured code between two perf_counter() calls, then the steady state.
PROBE = """
import time
began, began_cpu = time.perf_counter(), time.process_time()
{code}
elapsed_s, cpu_s = time.perf_counter() - began, time.process_time() - began_cpu
time.sleep({settle_s})
with open("/proc/self/status") as f:
    rss_kib = int(next(line for line in f if line.startswith("VmRSS:")).split()[1])
total_cpu_s = time.process_time() - began_cpu
import sys
print(elapsed_s, cpu_s, rss_kib * 1024, len(sys.modules), total_cpu_s)
"""
INTERVAL_S = 0.1
SETTLE_S = 2.5 * INTERVAL_S  # two guardian ticks
START = f"import memwarden; memwarden.start(interval={INTERVAL_S})"
START_ROW = "import memwarden; memwarden.start()"
STEADY_ROW = "start(interval=0.01), steady: the leak watch loaded"
# variant: (code, extra environment, seconds before RSS is read)
VARIANTS: dict[str, tuple[str, dict[str, str], float]] = {
    "python (baseline)": ("pass", {}, SETTLE_S),
    "import memwarden": ("import memwarden", {}, SETTLE_S),
    START_ROW: (START, {}, SETTLE_S),
    STEADY_ROW: ("import memwarden; memwarden.start(interval=0.01)", {}, 6.0),
    # For scale: standard modules that code like this is often written with.
    "stdlib alone: dataclasses, logging, pathlib, threading, typing":
        ("import dataclasses, logging, pathlib, threading, typing", {}, SETTLE_S),
}
Figures = tuple[float, float, int, int, float]  # wall s, CPU s, RSS bytes, modules, CPU total s


def run_once(code: str, extra_env: dict[str, str], settle_s: float, cwd: str) -> Figures:
    env = dict(os.environ, PYTHONPATH=str(SRC), MEMWARDEN_LIMIT="1G",
               PYTHONPYCACHEPREFIX=os.path.join(cwd, "pycache"), **extra_env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    probe = PROBE.format(code=code, settle_s=settle_s)
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=cwd, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), int(out[3]), float(out[4])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    samples: dict[str, list[Figures]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as cwd:
        for variant in VARIANTS.values():  # warm the page cache and the .pyc files
            run_once(*variant, cwd)
        for _ in range(runs):
            for name, variant in VARIANTS.items():
                samples[name].append(run_once(*variant, cwd))
    medians = {name: tuple(median([s[i] for s in v]) for i in range(5))
               for name, v in samples.items()}
    base_s, base_cpu_s, base_rss, base_modules, base_total_s = medians["python (baseline)"]
    rows = []
    for name, (wall_s, cpu_s, rss, modules, total_s) in medians.items():
        rows.append([name, f"{wall_s * 1000:.1f}", f"{cpu_s * 1000:.1f}",
                     f"{VARIANTS[name][2]:.2f}", f"{(total_s - base_total_s) * 1000:.1f}",
                     f"{rss / 2**20:.1f}", f"{(rss - base_rss) / 2**20:+.2f}",
                     f"{rss / base_rss:.2f}", f"{modules:.0f} ({modules - base_modules:+.0f})"])
    print(f"fresh interpreters, median of {runs} runs (Python {sys.version.split()[0]}); "
          f"guardian ticks every {INTERVAL_S:g} s\n")
    print(table(["variant", "wall ms", "CPU ms", "RSS read at s", "CPU to then ms", "RSS MiB",
                 "added MiB", "RSS ratio", "modules (added)"], rows))
    wall_s, cpu_s, rss, _, _ = medians[START_ROW]
    added_rss = rss - base_rss
    for what, value, goal, unit in (("RSS", added_rss / 2**20, GOAL_RSS_BYTES / 2**20, "MiB"),
                                    ("wall time", (wall_s - base_s) * 1000, GOAL_S * 1000, "ms"),
                                    ("CPU time", (cpu_s - base_cpu_s) * 1000, GOAL_S * 1000,
                                     "ms")):
        verdict = "met" if value <= goal else "NOT met"
        print(f"\ngoal: start() adds <= {goal:g} {unit} of {what}; result: {value:+.2f} {unit} "
              f"({value / goal:.2f} of the goal, {verdict})", end="")
    steady_rss = medians[STEADY_ROW][2]
    print(f"\nsteady state, the leak watch loaded: {(steady_rss - base_rss) / 2**20:+.2f} MiB "
          f"of RSS ({(steady_rss - base_rss) / GOAL_RSS_BYTES:.2f} of the start goal)")


if __name__ == "__main__":
    main()
