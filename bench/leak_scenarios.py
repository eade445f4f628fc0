"""Run every leak scenario with a simulated clock and print what memwarden found.

    python bench/leak_scenarios.py            # all scenarios + the 1 MB/min detection figure
    python bench/leak_scenarios.py --one unbounded_set   # one scenario, JSON (used per child)

Each scenario runs in its own interpreter; one `step(i)` is one simulated second and its real
RSS is fed to a LeakDetector (min window 5 min). A census is taken when the rise first looks
likely (p < 0.05); on detection memwarden attributes the leak over 60 more simulated seconds
(census diff, tracemalloc window, classification), just as the guardian's leak watch does.
Non-leaks run for 40 simulated minutes and must never be flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
sys.path[:0] = [str(BENCH), str(SRC)]

MAX_STEPS = 2400  # 40 simulated minutes
WINDOW_STEPS = 60  # attribution window after a detection
MiB = 1024 * 1024


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_one(name: str) -> dict[str, Any]:
    from leaks import load

    from memwarden.leak.attribute import Attribution, census_document
    from memwarden.leak.detector import LeakDetector
    from memwarden.leak.watch import SUSPECT_P

    scenario = load(name)
    detector = LeakDetector(min_window_s=300.0)
    heap = LeakDetector(min_window_s=300.0, min_growth_bytes=1000)
    baseline = None
    detected_at: float | None = None
    trend = None
    started = time.perf_counter()
    for warm in range(3):
        scenario.step(-1 - warm)
    rss_start = _rss_bytes()
    steps = 0
    for i in range(MAX_STEPS):
        scenario.step(i)
        steps = i + 1
        now_s = float(i)
        heap.add(now_s, sys.getallocatedblocks())
        flip = detector.add(now_s, _rss_bytes())
        latest = detector.trend
        if (baseline is None and latest is not None and latest.rate_bytes_per_h > 0
                and latest.p_value is not None and latest.p_value < SUSPECT_P):
            baseline = census_document(types=False)  # as the guardian takes it
        if flip is not None and flip.leaking:
            detected_at, trend = now_s, flip
            break
    result: dict[str, Any] = {
        "scenario": name, "kind": scenario.KIND, "expected_owner": scenario.OWNER,
        "expected_class": scenario.EXPECT, "detected": detected_at is not None,
        "detected_at_s": detected_at, "steps": steps,
        "rate_bytes_per_h": trend.rate_bytes_per_h if trend else None,
        "rate_ci_bytes_per_h": [trend.rate_low_bytes_per_h, trend.rate_high_bytes_per_h]
        if trend else None,
        "actual_rate_bytes_per_h": (_rss_bytes() - rss_start) / max(1, steps) * 3600,
    }
    if detected_at is not None:
        attribution = Attribution(trace=True)
        attribution.begin(baseline)
        for i in range(steps, steps + WINDOW_STEPS):
            scenario.step(i)
        assert trend is not None
        attribution.finish(heap_trend=heap.trend,
                           expected_growth_bytes=int(trend.rate_bytes_per_h / 3600 * WINDOW_STEPS))
        if attribution.types_due:  # no container grew: a type census pair, over its window
            for i in range(steps + WINDOW_STEPS, steps + 2 * WINDOW_STEPS):
                scenario.step(i)
            attribution.finish_types()
        result.update(attribution.figures())
    result["wall_s"] = time.perf_counter() - started
    return result


def detection_time_sawtooth(seeds: int = 20) -> list[float | None]:
    """Time to detect 1 MiB/min under a ±20 MiB sawtooth (60 s period, 1 MiB noise)."""
    from memwarden.leak.detector import LeakDetector
    from memwarden.leak.simulate import add, linear, sawtooth, series

    shape = add(linear(300 * MiB - 20 * MiB, MiB / 60), sawtooth(60.0, 40 * MiB))
    found: list[float | None] = []
    for seed in range(seeds):
        times, values = series(shape, duration_s=1800, interval_s=1.0, noise_bytes=MiB,
                               seed=seed)
        detector = LeakDetector(min_window_s=300.0)
        at = None
        for t, v in zip(times, values, strict=True):
            flip = detector.add(t, v)
            if flip is not None and flip.leaking:
                at = t
                break
        found.append(at)
    return found


def _mb_per_min(bytes_per_h: float | None) -> str:
    return "-" if bytes_per_h is None else f"{bytes_per_h / MiB / 60:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", help="run one scenario and print its JSON")
    parser.add_argument("--json", action="store_true", help="print all results as JSON")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    from _table import table
    from leaks import ALL

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH), str(SRC)]))
    results = []
    for name in ALL:
        out = subprocess.run([sys.executable, __file__, "--one", name], env=env,
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    rows = []
    for r in results:
        owner = r.get("top_owner")
        owner_ok = "-" if r["expected_owner"] is None else (
            "yes" if owner == r["expected_owner"] else "NO")
        verdict_ok = r["detected"] == (r["kind"] == "leak")
        class_ok = "-" if r["expected_class"] is None else (
            "yes" if r.get("classification") == r["expected_class"] else "NO")
        rows.append([
            r["scenario"], r["kind"], ("y" if r["detected"] else "n") + ("" if verdict_ok
                                                                          else " (WRONG)"),
            "-" if r["detected_at_s"] is None else f"{r['detected_at_s'] / 60:.1f} min",
            _mb_per_min(r["rate_bytes_per_h"]), _mb_per_min(r["actual_rate_bytes_per_h"]),
            owner or "-", owner_ok, (r.get("top_site") and Path(r["top_site"]).name) or "-",
            r.get("classification") or "-", class_ok, f"{r['wall_s']:.1f}",
        ])
    print(table(["scenario", "kind", "detected", "after", "est MiB/min", "actual MiB/min",
                 "top-1 owner", "right", "top site", "class", "right", "wall s"], rows))
    found = detection_time_sawtooth()
    hits = [t for t in found if t is not None]
    print()
    print("1 MiB/min leak under a ±20 MiB sawtooth (60 s period, 1 MiB noise, 1 s samples), "
          f"{len(found)} seeds: detected {len(hits)}/{len(found)}", end="")
    if hits:
        print(f"; median {statistics.median(hits) / 60:.1f} min, max {max(hits) / 60:.1f} min")
    else:
        print()


if __name__ == "__main__":
    main()
