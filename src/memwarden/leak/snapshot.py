"""Heap snapshots: the census (and tracemalloc's top sites when it traces) as a JSON file.

Schema "memwarden.snapshot/1":
    {schema, time, pid, argv, rss_bytes, python: {allocated_blocks, gc_tracked_objects},
     types: [{type, count, size_bytes}],
     containers: [{owner, type, items, size_bytes, item_type, item_bytes}],
     modules: [name, ...] (the modules walked: a diff tells a later import from growth),
     census: {tracked_objects, duration_s, busy_s, max_pause_s, get_objects_s, slices},
     tracemalloc: null | [{site, size_bytes, count, traceback: ["file:line", ...]}]}

Heap data can hold secrets (keys of a dict of sessions...): files are written 0600, atomically
(a temp file in the same directory, then rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from memwarden.readers.proc import self_rss_bytes

SCHEMA = "memwarden.snapshot/1"
FILE_PREFIX = "memwarden-snapshot-"
TRACEMALLOC_TOP = 25
TRACEBACK_FRAMES = 5


def dir_env_names() -> tuple[str, ...]:
    """MEMWARDEN_LEAK_SNAPSHOT_DIR, then the older MEMWARDEN_SNAPSHOT_DIR."""
    from memwarden.settings.registry import find

    setting = find("leak.snapshot_dir")
    return tuple(n for n in (setting.env, *setting.aliases) if n)


def default_directory(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    named = next((env[n] for n in dir_env_names() if env.get(n, "").strip()), None)
    return Path(named or os.getcwd())


def snapshot_name(pid: int, time_s: float) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time_s))
    return f"{FILE_PREFIX}{pid}-{stamp}.{int(time_s * 1000) % 1000:03d}Z.json"


def tracemalloc_top(limit: int = TRACEMALLOC_TOP) -> list[dict[str, Any]] | None:
    """Top allocation sites by size when tracemalloc traces; None when it does not."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        return None
    from memwarden.leak.own import is_own_traceback

    stats = [stat for stat in tracemalloc.take_snapshot().statistics("traceback")
             if not is_own_traceback([frame.filename for frame in stat.traceback])]
    return [
        {
            "site": _frame(stat.traceback[-1]),
            "size_bytes": stat.size,
            "count": stat.count,
            "traceback": [_frame(f) for f in list(stat.traceback)[-TRACEBACK_FRAMES:]],
        }
        for stat in stats[:limit]
    ]


def _frame(frame: Any) -> str:
    return f"{frame.filename}:{frame.lineno}"


def build_snapshot(*, types: bool = True) -> dict[str, Any]:
    import gc

    from memwarden.leak.census import census_json, take_census

    census = take_census(types=types)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "time": census.time_s,
        "pid": os.getpid(),
        "argv": list(sys.argv),
        "rss_bytes": self_rss_bytes(),
        "python": {
            "allocated_blocks": sys.getallocatedblocks(),
            "gc_tracked_objects": census.tracked_objects if types else len(gc.get_objects(0)),
        },
    }
    document.update(census_json(census))
    document["tracemalloc"] = tracemalloc_top()
    return document


def write_json_private(path: Path, document: dict[str, Any]) -> Path:
    """Write 0600 and atomically: O_EXCL temp file in the same directory, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, separators=(",", ":"))
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_snapshot(path: str | Path | None = None) -> Path:
    """Take a census and write it; path None or a directory: a generated name in
    $MEMWARDEN_SNAPSHOT_DIR (default: the current directory)."""
    document = build_snapshot()
    target = default_directory() if path is None else Path(path)
    if target.is_dir():
        target = target / snapshot_name(os.getpid(), float(document["time"]))
    return write_json_private(target, document)


def read_snapshot(path: str | Path) -> dict[str, Any]:
    """Load and check a snapshot; ValueError names the file and what is wrong."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from err
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{path}: not a {SCHEMA} snapshot (schema={found!r})")
    for key in ("time", "pid", "types", "containers"):
        if key not in document:
            raise ValueError(f"{path}: snapshot lacks {key!r}")
    return document


def install_snapshot_signal(signum: int | str | None = None, *, directory: Path | None = None
                            ) -> int | None:
    """See memwarden.leak.trigger.install_snapshot_signal (SIGUSR2 unless configured)."""
    from memwarden.leak.trigger import install_snapshot_signal as install

    return install(signum, directory=directory)
