"""CPU of one leak-detector evaluation (the periodic fit an idle supervisor pays for), against
the straightforward loops it replaced, in one run.

    python bench/leak_fit_bench.py [--evals 40]

Each case fills a LeakDetector at 1 Hz, then times the fit of an evaluation (`_fit`: the whole
history plus its recent stretches; an evaluation of a history that never rises, as the constant
case's, skips it altogether) with the reference loops of bench/leak_fit_reference.py and with
the shipped code, alternating, best of 5 rounds of --evals evaluations (process CPU time). The
two must give the same Trend, or the bench fails. Both sides share the trough search
(floor_series) and the early-half slope fitted only when the verdict needs it, so the reference
is, if anything, cheaper than the code it stands for. Goal: >= 4x less CPU per evaluation.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from _table import table  # noqa: E402
from leak_fit_reference import reference_fit  # noqa: E402

from memwarden.leak.detector import LeakDetector  # noqa: E402
from memwarden.leak.trend import Trend  # noqa: E402

GOAL_RATIO = 4.0
MiB = 1024 * 1024


def _constant(rng: random.Random, i: int) -> float:
    return 1_200_128.0  # what an idle supervisor sees: `sleep`'s tree RSS never moves


def _flat(rng: random.Random, i: int) -> float:
    return 100e6 + rng.gauss(0, 1e6)


def _leak(rng: random.Random, i: int) -> float:
    return 100e6 + 20_000.0 * i + rng.gauss(0, 2e5)


def _sawtooth(rng: random.Random, i: int) -> float:
    return 100e6 + 2e5 * (i % 40) + rng.gauss(0, 5e4)


def _pages(rng: random.Random, i: int) -> float:
    return 4096.0 * (25_000 + rng.choice((0, 0, 1, 2)))  # a flat series quantised: all ties


CASES: list[tuple[str, int, Callable[[random.Random, int], float]]] = [
    ("constant (idle `sleep`), 600 s", 600, _constant),
    ("constant (idle `sleep`), 480 s", 480, _constant),
    ("idle noise, 600 s", 600, _flat),
    ("idle noise, 480 s", 480, _flat),
    ("page-quantised flat, 480 s", 480, _pages),
    ("slow leak, 480 s", 480, _leak),
    ("sawtooth, 480 s", 480, _sawtooth),
]


def _filled(samples: int, shape: Callable[[random.Random, int], float]) -> LeakDetector:
    rng = random.Random(7)
    detector = LeakDetector()
    for i in range(samples):
        detector.add(float(i + 1), shape(rng, i))
    return detector


def _cpu_ms(detector: LeakDetector, evals: int) -> tuple[float, Trend | None]:
    times, values = detector._min_times.tolist(), detector._mins.tolist()  # as _evaluate
    started = time.process_time()
    for _ in range(evals):
        trend = detector._fit(times, values)
    return (time.process_time() - started) * 1000.0 / evals, trend


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=40)
    args = parser.parse_args()
    rows, ratios = [], []
    for name, samples, shape in CASES:
        ref_ms = new_ms = math.inf
        for _ in range(5):
            ref_detector, new_detector = _filled(samples, shape), _filled(samples, shape)
            with reference_fit():
                ms, ref_trend = _cpu_ms(ref_detector, args.evals)
            ref_ms = min(ref_ms, ms)
            ms, new_trend = _cpu_ms(new_detector, args.evals)
            new_ms = min(new_ms, ms)
            if ref_trend != new_trend:
                print(f"{name}: the fits differ\n  reference {ref_trend}\n  result    {new_trend}")
                return 1
        points = len(new_detector.series()[0]) - 1
        ratio = ref_ms / new_ms
        ratios.append(ratio)
        rows.append([name, str(points), f"{ref_ms:.2f}", f"{new_ms:.2f}", f"{ratio:.1f}x",
                     "yes" if ratio >= GOAL_RATIO else "no"])
    print(f"goal: >= {GOAL_RATIO:.0f}x less CPU per evaluation than the reference loops\n")
    print(table(["case", "points", "reference ms/eval", "result ms/eval", "ratio", "goal met"],
                rows))
    worst = min(ratios)
    print(f"\nworst ratio {worst:.1f}x: goal {'met' if worst >= GOAL_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
