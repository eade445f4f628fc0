"""The reference: what a developer finds by hand with objgraph and tracemalloc.

The same leak program, without memwarden: after a short warm-up, objgraph.growth() and a
tracemalloc snapshot; after WINDOW_S more, the type that grew most, objgraph's back-reference
chain from its newest instance to a module, and tracemalloc's top growing line.
"""

from __future__ import annotations

PRELUDE = """
import logging, sys, threading, time
pause = threading.Event()
def _reference():
    import gc, tracemalloc, objgraph
    started = time.monotonic()
    tracemalloc.start(5)
    time.sleep({warm_s})
    objgraph.growth(limit=10)
    first = tracemalloc.take_snapshot()
    time.sleep({window_s})
    grown = objgraph.growth(limit=10)
    second = tracemalloc.take_snapshot()
    top = [s for s in second.compare_to(first, "lineno") if s.size_diff > 0][:1]
    site = f"{{top[0].traceback[0].filename}}:{{top[0].traceback[0].lineno}}" if top else "-"
    plain = ("dict", "list", "tuple", "function", "cell", "weakref", "ReferenceType",
             "RLock", "lock", "Snapshot", "Trace", "Frame", "Traceback", "Statistic")
    kind = next((name for name, _, _ in grown if name not in plain),
                grown[0][0] if grown else None)
    chain = "-"
    if kind is not None:
        objs = objgraph.by_type(kind)
        if objs:
            found = objgraph.find_backref_chain(objs[-1], objgraph.is_proper_module,
                                                max_depth=12)
            names = [getattr(o, "__name__", type(o).__name__) for o in found[:1]]
            chain = f"{{names[0]}} ... ({{len(found)}} links)" if len(found) > 1 else "no chain"
    print(f"reference after {{time.monotonic() - started:.0f}}s: type {{kind}}, "
          f"backref chain {{chain}}, top line {{site}}", flush=True)
threading.Thread(target=_reference, daemon=True).start()
print("ready", flush=True)
"""


def reference_source(body: str, *, speed: float, warm_s: float = 5.0,
                     window_s: float = 10.0) -> str:
    return (PRELUDE.format(warm_s=warm_s, window_s=window_s)
            + body.replace("{speed}", repr(speed)))
