"""Leak bench: every leak shape and healthy shape at full length, and the census cost.

    python bench/leak_bench.py shapes [--under guardian|run|both] [--speed 1]
                                      [--healthy-s 1800] [--deadline-s 300]
    python bench/leak_bench.py census [--objects 1000000] [--web]

shapes: each leak program (bench/leaks/shapes.py) runs under memwarden.start() with the
shipped defaults (samples every 1 s, least history 1 min, tracemalloc window 20 s), all side
by side; per shape: time to the verdict, time to the culprit line, the line, and whether it
names the culprit (the words the shape expects). The reference is the same program without
memwarden, examined by hand the way a developer would: objgraph.growth() and
find_backref_chain(), tracemalloc's top growing line, 15 s after start. Healthy programs then
run for --healthy-s seconds and must print no leak line. --under run runs each shape as
`memwarden run --limit 4G -- python -c SHAPE` instead (the shape's guardian answers the
supervisor), and judges the supervisor's own log: its leak line and the culprit it names;
--under both prints both tables (the healthy shapes of both side by side). --deadline-s 0
leaves out the leaks, --healthy-s 0 the healthy shapes.

census: cost of one census

Builds a heap of N gc-tracked objects held by module-level owners (a dict of lists, a set of
tuples, instances with attribute dicts), then measures in the same run:
  * baseline: a bare `gc.get_objects()` + `type(o)` walk, and a full `gc.collect()`;
  * the automatic census (types=False: the owner walk, what the leak watch takes by default)
    and the full census (types=True: owners and types, taken only when no growing container
    names a leak, or when asked: [leak] full_census, a snapshot):
    wall time, busy (GIL-holding) time, slices, pause per slice (p50, p99, max; the longest
    also in CPU time, which a loaded machine does not inflate), and the single unsliced
    gc.get_objects() call;
  * the latency a 1 ms ticker thread sees while a census runs (vs idle): the stall a
    request thread would feel;
  * for reference, a type census that could be sliced: a walk of the reachable heap
    (bench/_census_walk.py), its CPU, its longest slice and the share of objects it reaches.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _census_walk import walk_types
from _table import table

from memwarden.leak.census import take_census


def build_heap(objects: int) -> types.ModuleType:
    module = types.ModuleType("benchapp.store")

    class Session:
        def __init__(self, n: int) -> None:
            self.n = n
            self.tags = [n]

    module.Session = Session  # type: ignore[attr-defined]
    third = objects // 3
    module.by_request = {f"req-{n}": [n] for n in range(third)}  # type: ignore[attr-defined]
    # frozensets, not tuples: a tuple of atoms is untracked by the first collection
    module.seen = {frozenset((n, str(n))) for n in range(third)}  # type: ignore[attr-defined]
    # each Session is 2 tracked objects (the instance and its tags list; its __dict__ is
    # inlined until looked at)
    module.sessions = [Session(n) for n in range(third // 2)]  # type: ignore[attr-defined]
    sys.modules["benchapp.store"] = module
    return module


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def ticker_lateness(work: Any) -> tuple[list[float], Any]:
    """Run work() while a thread wakes every 1 ms; return the wake-up delays beyond 1 ms."""
    late: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        wake = threading.Event()
        while not stop.is_set():
            before = time.perf_counter()
            wake.wait(0.001)
            late.append(time.perf_counter() - before - 0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        result = work()
    finally:
        stop.set()
        thread.join()
    return late, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def web_app() -> None:
    """A Flask app that has served requests: module globals such as flask.request are
    werkzeug proxies that raise outside a request, and a few hundred modules are loaded."""
    import flask

    app = flask.Flask("census_bench")

    @app.get("/item")
    def item() -> dict[str, Any]:
        return {"id": flask.request.args.get("id"), "user": flask.g.get("user")}

    client = app.test_client()
    for n in range(200):
        client.get(f"/item?id={n}")


def size_accuracy(runs: int = 4) -> str:
    """The type census's bytes (sizes from a sample) against every tracked object sized, over
    a few censuses whose sample falls on other objects each time."""
    exact = sum(map(sys.getsizeof, gc.get_objects(), itertools.repeat(0)))
    shift: list[list[int]] = []
    errors = []
    for _ in range(runs):
        shift.append([0])  # one more object: the next sample starts elsewhere
        total = sum(t.size_bytes for t in take_census().types)
        errors.append(total / exact - 1)
    return (f"type census bytes vs every object sized ({exact / 2**20:.1f} MiB), {runs} "
            f"censuses: {min(errors):+.2%} to {max(errors):+.2%}")


def census_main(objects: int, *, web: bool) -> None:
    if web:
        web_app()
    build_heap(objects)
    tracked = len(gc.get_objects())
    per_million = 1_000_000 / tracked

    before, before_cpu = time.perf_counter(), time.thread_time()
    objs = gc.get_objects()
    get_objects_s = time.perf_counter() - before
    get_objects_cpu_s = time.thread_time() - before_cpu
    counts: dict[type, int] = {}
    for o in objs:
        counts[type(o)] = counts.get(type(o), 0) + 1
    bare_s = time.perf_counter() - before
    bare_cpu_s = time.thread_time() - before_cpu
    del objs, counts
    before = time.perf_counter()
    gc.collect()
    collect_s = time.perf_counter() - before

    cpu = {}
    for label, with_types in (("automatic (owner walk, the default)", False),
                              ("full (owners + types, when needed or asked)", True)):
        before_cpu = time.thread_time()
        run = take_census(types=with_types)
        cpu[label] = (time.thread_time() - before_cpu, run.max_pause_s, run.max_pause_cpu_s)
    print("census row (goal: <= 150 ms CPU per 1M objects, no pause > 10 ms; reference, CPU "
          f"per 1M: a bare gc.get_objects() {get_objects_cpu_s * per_million * 1000:.0f} ms, "
          f"with a type() walk in Python {bare_cpu_s * per_million * 1000:.0f} ms):")
    for label, (cpu_s, pause_s, pause_cpu_s) in cpu.items():
        print(f"  {label:44s}: {cpu_s * per_million * 1000:4.0f} ms CPU per 1M objects "
              f"({cpu_s * per_million / 0.150:.2f}x goal, {cpu_s / bare_cpu_s:.2f}x the bare "
              f"walk), max pause {pause_s * 1000:.1f} ms "
              f"({pause_s / 0.010:.2f}x goal; {pause_cpu_s * 1000:.1f} ms of it CPU, the rest "
              "other processes on a loaded machine)")
    walk = walk_types()
    reached = sum(walk.counts.values())
    print(f"  not used, for reference: types by a sliced walk of the reachable heap: "
          f"{walk.cpu_s * per_million * 1000:.0f} ms CPU per 1M objects "
          f"({walk.cpu_s * per_million / 0.150:.2f}x goal), longest slice "
          f"{walk.max_slice_cpu_s * 1000:.1f} ms CPU; reaches {reached / tracked:.1%} of the "
          "gc-tracked objects (never those only C code holds)")
    print()
    idle_late, _ = ticker_lateness(lambda: time.sleep(0.5))
    owners_late, owners = ticker_lateness(lambda: take_census(types=False))
    full_late, full = ticker_lateness(lambda: take_census(types=True))

    print(f"heap: {tracked:,} gc-tracked objects, {len(sys.modules)} modules"
          f"{' (a Flask app among them)' if web else ''}; 'busy' is per million objects, "
          f"pauses are as measured on this heap; Python {sys.version.split()[0]}\n")
    rows = [
        ["bare gc.get_objects() call (one pause)", ms(get_objects_s * per_million),
         "-", "-", ms(get_objects_s), f"{get_objects_s / bare_s:.2f}"],
        ["bare get_objects + type() walk (baseline)", ms(bare_s * per_million), "-", "-",
         ms(bare_s), "1.00"],
        ["full gc.collect() (CPython's own pause)", ms(collect_s * per_million), "-", "-",
         ms(collect_s), f"{collect_s / bare_s:.2f}"],
    ]
    for label, census in (("automatic census (owner walk)", owners),
                          ("full census (owners + types)", full)):
        pauses = census.slice_pauses_s
        rows.append([
            label, ms(census.busy_s * per_million), ms(percentile(pauses, 0.5)),
            ms(percentile(pauses, 0.99)), ms(census.max_pause_s), ms(census.max_pause_cpu_s),
            f"{census.busy_s / bare_s:.2f}",
        ])
    for row in rows[:3]:
        row.insert(5, "-")
    print(table(["what", "busy ms/M", "slice p50 ms", "slice p99 ms", "max pause ms",
                 "max pause CPU ms", "cost vs bare walk"], rows))
    print(f"\nfull census: {full.slices} slices, wall {ms(full.duration_s)} ms, unsliced "
          f"gc.get_objects() {ms(full.get_objects_s)} ms; {len(full.containers):,} containers "
          "named")
    print(size_accuracy())
    print("\n1 ms ticker thread, wake-up lateness (what a request thread waits):")
    print(table(["while", "p50 ms", "p99 ms", "max ms"], [
        [name, ms(statistics.median(v)), ms(percentile(v, 0.99)), ms(max(v))]
        for name, v in (("idle (baseline)", idle_late), ("automatic census", owners_late),
                        ("full census", full_late))
    ]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("shapes", "census"))
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--web", action="store_true",
                        help="census: a Flask app that served requests beside the heap")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--healthy-s", type=float, default=1800.0)
    parser.add_argument("--deadline-s", type=float, default=300.0)
    parser.add_argument("--under", choices=("guardian", "run", "both"), default="guardian")
    args = parser.parse_args()
    if args.what == "census":
        census_main(args.objects, web=args.web)
    else:
        from leaks.run_shapes import shapes_main

        shapes_main(speed=args.speed, healthy_s=args.healthy_s, deadline_s=args.deadline_s,
                    under=args.under)


if __name__ == "__main__":
    main()
