"""JSONL traces: one JSON object a line, versioned. `memwarden report` reads them.

Schema `memwarden.trace/1` (documented in docs/reference/formats.md). Every line has `type`:
- `header`: `schema`, `started` (unix s), `pid`, `host`, `argv`.
- `sample`: `t` (unix s), `program` (supervisor traces only), `tier`, `metric`,
  `measured_bytes`, `limit_bytes`, `limit_source`,
  `thresholds_bytes` {warn, critical, restart}, `tree_rss_bytes`, `tree_processes`,
  `swap_bytes`, `cgroup_usage_bytes`, `working_set_bytes`, `cgroup_limit_bytes`,
  `inactive_file_bytes`, `oom_kill_events`, `system_total_bytes`, `system_available_bytes`,
  `psi_some_avg10`, `psi_full_avg10`, `py_allocated_blocks`, `py_traced_bytes`,
  `gc_collections` (sum over generations). Unknown figures are null, never 0.
- `event`: `t`, `kind`, `tier`, `source`, `level`, `message`, `figures` (see the events
  reference).
Readers must ignore keys they do not know; new keys may be added without a version bump.

The guardian writes one (`trace=`), and so does the lean supervisor (`memwarden run --trace`):
no `typing` or `socket` at run time here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from memwarden.files import TRACE_MODE, open_append

# Not `from typing import ...` at run time: it costs the lean supervisor ~2 MB of RSS.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

    from memwarden.events import Event
    from memwarden.policy import Tier
    from memwarden.sample import Sample

SCHEMA = "memwarden.trace/1"


def header_record(pid: int | None) -> dict[str, Any]:
    return {
        "type": "header",
        "schema": SCHEMA,
        "started": time.time(),
        "pid": pid,
        "host": os.uname().nodename,
        "argv": sys.argv,
    }


def sample_record(
    sample: Sample, tier: Tier, thresholds_bytes: dict[Tier, int | None],
    program: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "sample",
        "t": round(sample.time_s, 4),
        **({"program": program} if program is not None else {}),
        "tier": tier.label,
        "thresholds_bytes": {t.label: b for t, b in thresholds_bytes.items()},
        **sample.figures(),
    }


def event_record(event: Event) -> dict[str, Any]:
    record = event.to_json()
    record["type"] = "event"
    record["t"] = record.pop("time")
    return record


class TraceWriter:
    """Appends records line by line and flushes each, so a killed process leaves a usable trace."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self._file: IO[str] = open_append(path, TRACE_MODE)
        if os.fstat(self._file.fileno()).st_size == 0:
            self.write(header_record(pid))

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_trace(path: Path) -> Iterator[dict[str, Any]]:
    """Yield records; a torn last line (process killed mid-write) is skipped."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record
