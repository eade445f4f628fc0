"""tracemalloc window finds the growing buffer; the native leak is classified RSS-only."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from leaks import load

from memwarden.leak.attribute import Attribution
from memwarden.leak.classify import classify_growth
from memwarden.leak.tracewindow import TraceWindow
from tests.helpers import BENCH, child_env


def test_trace_window_finds_the_growing_buffer_and_stops() -> None:
    scenario = load("bytes_buffer")
    assert not tracemalloc.is_tracing()
    window = TraceWindow().start()
    for i in range(20):
        scenario.step(10_000 + i)
    result = window.finish()
    assert not tracemalloc.is_tracing()
    top = result.sites[0]
    assert Path(top.site.rpartition(":")[0]).name == "bytes_buffer.py"
    assert top.size_bytes >= 19 * 64 * 1024
    assert any("bytes_buffer.py" in frame for frame in top.traceback)
    assert result.traced_growth_bytes >= 19 * 64 * 1024


def test_trace_window_leaves_a_running_tracemalloc_on() -> None:
    tracemalloc.start()
    try:
        window = TraceWindow().start()
        assert not window.owned
        window.finish()
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


NATIVE_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from leaks import load
    from memwarden.leak.attribute import Attribution

    scenario = load("native_rss")
    steps = 40
    attribution = Attribution(trace=True)
    attribution.begin()
    for i in range(steps):
        scenario.step(i)
    attribution.finish(expected_growth_bytes=scenario.RATE * steps)
    top = attribution.top_owner()
    print(json.dumps({"classification": attribution.classification.to_json(),
                      "expected_bytes": scenario.RATE * steps,
                      "top_owner": None if top is None else top.name}))
    """
)


def test_native_leak_is_classified_rss_only() -> None:
    # In a fresh interpreter: in the long-lived pytest process malloc can hand the scenario
    # heap that earlier tests freed, so RSS barely grows and the classification is a coin flip.
    done = subprocess.run([sys.executable, "-c", NATIVE_CHILD, str(BENCH)], env=child_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    c = result["classification"]
    assert c["kind"] == "native", c
    assert c["python_growth_bytes"] is not None
    assert c["python_growth_bytes"] < result["expected_bytes"] / 2
    assert "memray run --native" in c["advice"]
    assert result["top_owner"] is None


def test_python_leak_is_classified_python_heap() -> None:
    scenario = load("request_dict")
    attribution = Attribution(trace=True)
    attribution.begin()
    for i in range(10):
        scenario.step(10_000 + i)  # fresh request ids: other tests ran early steps already
    attribution.finish(expected_growth_bytes=scenario.RATE * 10)
    assert attribution.classification is not None
    assert attribution.classification.kind == "python_heap"
    assert attribution.top_owner() is not None, [g.describe() for g in attribution.growers]
    assert attribution.top_owner().name == scenario.OWNER  # type: ignore[union-attr]


def test_without_python_growth_malloc_trim_is_tried_and_reported() -> None:
    c = classify_growth(rss_growth_bytes=50 * 1024 * 1024, python_growth_bytes=0)
    assert c.kind in ("native", "allocator_retention")
    assert c.malloc_trim_result in (0, 1)  # glibc here
    assert "malloc_trim(0) returned" in c.advice


def test_window_closed_early_keeps_what_it_saw_and_stops_tracing() -> None:
    import tracemalloc

    kept: list[bytes] = []
    attribution = Attribution(trace=True)
    attribution.begin()
    kept.extend(bytes(1000) for _ in range(2000))
    attribution.close_window()  # its budget spent
    assert not tracemalloc.is_tracing() and not attribution.tracing
    kept.extend(bytes(1000) for _ in range(2000))  # after the window: not traced
    attribution.finish(expected_growth_bytes=2_000_000)
    attribution.finish_types()  # a local list: no container names it, a type census pair may
    assert attribution.window is not None and attribution.window.sites
    assert attribution.classification is not None
    assert attribution.classification.python_growth_bytes is not None
    assert 1_900_000 < attribution.classification.python_growth_bytes < 3_000_000


PYTHON_CHILD = textwrap.dedent(
    """
    import json, sys
    from memwarden.leak.attribute import Attribution

    trace = sys.argv[1] == "trace"
    kept = []
    attribution = Attribution(trace=trace)
    attribution.begin()
    kept.extend([i] * 30 for i in range(20_000))
    if trace:
        attribution.close_window()  # its budget spent, as under a fast leak
    kept.extend([i] * 30 for i in range(60_000))  # the leak goes on after the window
    attribution.finish()
    print(json.dumps(attribution.classification.to_json()))
    """
)


@pytest.mark.parametrize("trace", ["trace", "census"])
def test_python_growth_is_never_called_native(trace: str) -> None:
    # pymalloc's arenas are anonymous mappings: RSS grows as for a native leak. A window that
    # closed early saw a quarter of the growth; without tracemalloc, only the type census sees
    # it. Both are set against the RSS growth of their own period. A fresh interpreter, so
    # the growth is RSS growth (not heap earlier tests freed).
    done = subprocess.run([sys.executable, "-c", PYTHON_CHILD, trace], env=child_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    c = json.loads(done.stdout)
    assert c["kind"] == "python_heap", c
    assert c["rss_growth_bytes"] > 8 * 1024 * 1024, c  # RSS did grow: not a trivial pass
