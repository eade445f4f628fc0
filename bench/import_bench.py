"""Cost of `import memwarden` and of starting the guardian, against a bare interpreter.

    python bench/import_bench.py [--runs 15]

Each variant runs in a fresh interpreter; wall time is the median over runs, RSS is the
child's peak (ru_maxrss from wait4), both next to `python -c pass` measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import median, table

SRC = Path(__file__).resolve().parent.parent / "src"
VARIANTS = {
    "python -c pass (baseline)": "pass",
    "import memwarden": "import memwarden",
    "import memwarden; start()": "import memwarden; memwarden.start(interval=1.0)",
    "import psutil (for scale)": "import psutil",
}


def run_once(code: str) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(SRC), MEMWARDEN_LIMIT="1G")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed_s = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{code!r} exited with {proc.returncode}")
    return elapsed_s, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    results: dict[str, tuple[float, float]] = {}
    for _ in range(2):  # warm the page cache
        for code in VARIANTS.values():
            run_once(code)
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in VARIANTS}
    for _ in range(runs):  # interleaved, so drift hits every variant alike
        for name, code in VARIANTS.items():
            samples[name].append(run_once(code))
    for name, values in samples.items():
        results[name] = (median([v[0] for v in values]), median([v[1] for v in values]))
    base_s, base_rss = results["python -c pass (baseline)"]
    rows = []
    for name, (wall_s, rss) in results.items():
        rows.append([
            name, f"{wall_s * 1000:.1f}", f"{(wall_s - base_s) * 1000:+.1f}",
            f"{rss / 2**20:.1f}", f"{(rss - base_rss) / 2**20:+.2f}", f"{wall_s / base_s:.2f}x",
        ])
    print(f"import cost, median of {runs} fresh interpreters ({sys.version.split()[0]})\n")
    print(table(["variant", "wall ms", "added ms", "peak RSS MiB", "added MiB", "ratio"], rows))


if __name__ == "__main__":
    main()
