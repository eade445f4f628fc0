"""Trace and snapshot builders for the report tests: JSON lines written directly, tiers from the
real policy engine, so the traces look like what `monitor` and the guardian write."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from memwarden.policy import PolicyConfig, PolicyState, evaluate
from memwarden.trace import SCHEMA

MIB = 1024**2
PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
PAYLOAD_TRACE_TEXT = "&lt;script&gt;alert(1)&lt;/script&gt;"
START_S = 1_795_000_000.0  # a fixed unix time, so dates in the page are stable


def header(pid: int = 4242, argv: list[str] | None = None) -> dict[str, Any]:
    return {"type": "header", "schema": SCHEMA, "started": START_S, "pid": pid,
            "host": "testhost", "argv": argv or ["memwarden", "monitor", "4242"]}


def sample(t: float, measured: int | None, *, limit: int | None = 512 * MIB, tier: str = "ok",
           **extra: Any) -> dict[str, Any]:
    thresholds = ({"warn": int(limit * 0.70), "critical": int(limit * 0.85),
                   "restart": int(limit * 0.95)} if limit else {})
    record = {"type": "sample", "t": t, "tier": tier, "metric": "tree_rss",
              "measured_bytes": measured, "limit_bytes": limit, "limit_source": "budget",
              "thresholds_bytes": thresholds, "tree_rss_bytes": measured,
              "tree_processes": 1, "working_set_bytes": None, "py_traced_bytes": None,
              "oom_kill_events": None}
    record.update(extra)
    return record


def event(t: float, kind: str, message: str, **extra: Any) -> dict[str, Any]:
    record = {"type": "event", "t": t, "kind": kind, "message": message, "tier": None,
              "source": "guardian", "figures": {}}
    record.update(extra)
    return record


def write_lines(path: Path, records: list[dict[str, Any]], tail: str = "") -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
        f.write(tail)
    return path


def realistic(path: Path, *, duration_s: float = 7200.0, interval_s: float = 1.0,
              rate_mib_per_h: float = 250.0, torn_tail: bool = True) -> Path:
    """A leak under a ±20 MiB sawtooth: tiers rise, one graceful restart at the restart
    threshold, one OOM kill of a helper process, gc actions and a leak event."""
    rng = random.Random(5)
    limit = 512 * MIB
    config = PolicyConfig()
    state = PolicyState()
    records = [header()]
    base_s = 0.0  # when the current incarnation started
    restarted = leak_reported = oom_done = False
    oom_count = 0
    steps = int(duration_s / interval_s)
    for i in range(steps):
        t = START_S + i * interval_s
        age_s = i * interval_s - base_s
        saw = 20 * MIB * ((i * interval_s % 60) / 60 - 0.5) * 2
        floor = 180 * MIB + rate_mib_per_h * MIB * age_s / 3600
        measured = int(floor + saw + rng.uniform(-2, 2) * MIB)
        if not oom_done and i * interval_s > duration_s * 0.3:
            oom_done, oom_count = True, 1
            records.append(event(t, "oom_kill", "kernel OOM-killed pid 5151 (chromium), "
                                 "no grace", figures={"pid": 5151}))
        state, transition = evaluate(state, measured_bytes=measured, limit_bytes=limit,
                                     now_s=t, config=config)
        if transition is not None:
            records.append(event(t, "tier", f"tier {transition.previous.label} -> "
                                 f"{transition.current.label}: tree_rss {measured // MIB} MiB",
                                 tier=transition.current.label))
            if transition.current.label == "critical" and transition.rising:
                records.append(event(t, "action", "gc.collect freed 3.1 MiB, malloc_trim "
                                     "gave back 12.0 MiB", tier="critical"))
        if not leak_reported and age_s > duration_s * 0.25:
            leak_reported = True
            records.append(event(t, "leak", f"leak: +{rate_mib_per_h:.0f} MiB/h, limit in 1h10m",
                                 figures={"rate_bytes_per_h": rate_mib_per_h * MIB,
                                          "culprit": "myapp.sync:SyncService.seen (set) "
                                                     "+2,000 items"}))
        records.append(sample(
            t, measured, limit=limit, tier=state.tier.label,
            working_set_bytes=int(measured * 0.93), py_traced_bytes=int((floor - 150 * MIB) * 0.8),
            oom_kill_events=oom_count,
        ))
        if state.tier.label == "restart" and not restarted:
            restarted = True
            records.append(event(t + 0.1, "restart", "graceful restart at 95% of the limit "
                                 "(exit 75)", tier="restart"))
            base_s = (i + 1) * interval_s
            state = PolicyState()
    return write_lines(path, records, tail='{"type":"sample","t":17950' if torn_tail else "")


def snapshot(path: Path, time_s: float, grow: float, *, owner: str = "myapp.sync:SyncService"
             ".processed_records") -> Path:
    data = {
        "schema": "memwarden.snapshot/1", "time": time_s, "pid": 4242, "argv": ["app.py"],
        "rss_bytes": int(300 * MIB + grow * 100 * MIB),
        "types": [{"type": "str", "count": int(1e5 + grow * 2e6), "size_bytes": int(grow * 90e6)},
                  {"type": "dict", "count": 5000, "size_bytes": 4 * MIB}],
        "containers": [
            {"owner": owner, "type": "set", "items": int(grow * 2e6),
             "size_bytes": int(grow * 181 * MIB)},
            {"owner": "myapp.cache:CACHE", "type": "dict", "items": 512, "size_bytes": MIB},
        ],
        "tracemalloc": [{"site": "myapp/sync.py:88", "size_bytes": int(grow * 50 * MIB),
                         "count": int(grow * 1e5),
                         "traceback": ["myapp/sync.py:88", "myapp/worker.py:12"]}],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sawtooth_values(n: int) -> list[float]:
    return [100 * MIB + 20 * MIB * math.sin(i / 10) for i in range(n)]


def injection_trace(path: Path) -> Path:
    """Hostile text in every free-text field a trace has."""
    records = [header(argv=["app", PAYLOAD]) | {"host": PAYLOAD}]
    for i in range(50):
        records.append(sample(START_S + i, (100 + i) * MIB, program=PAYLOAD, tier=PAYLOAD,
                              limit_source=PAYLOAD, metric=PAYLOAD))
    records.append(event(START_S + 10, "restart", PAYLOAD, program=PAYLOAD, tier=PAYLOAD))
    records.append(event(START_S + 20, PAYLOAD, PAYLOAD, source=PAYLOAD))
    return write_lines(path, records)
