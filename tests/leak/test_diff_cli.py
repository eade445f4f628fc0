"""`memwarden diff A B`: owners first, then types, then sites; each kind by growth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memwarden.leak.diff import diff_snapshots
from memwarden.leak.snapshot import SCHEMA, write_json_private

MiB = 1024 * 1024


def snapshot(time_s: float, owners: dict[str, tuple[int, int]], types: dict[str, tuple[int, int]],
             sites: dict[str, tuple[int, int]] | None) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "time": time_s, "pid": 42, "argv": ["app.py"], "rss_bytes": 100 * MiB,
        "types": [{"type": t, "count": c, "size_bytes": s} for t, (c, s) in types.items()],
        "containers": [{"owner": o, "type": "set" if "records" in o else "dict", "items": i,
                        "size_bytes": s} for o, (i, s) in owners.items()],
        "tracemalloc": None if sites is None else [
            {"site": site, "size_bytes": s, "count": c, "traceback": ["app.py:1", site]}
            for site, (c, s) in sites.items()],
    }


A = snapshot(1000.0,
             {"myapp.sync:SyncService.processed_records": (1000, 1 * MiB),
              "myapp.web:_requests": (10, 4096), "myapp.util:stable": (50, 8192)},
             {"str": (5000, 400_000), "dict": (300, 90_000)},
             {"myapp/sync.py:88": (10, 1000)})
B = snapshot(3400.0,
             {"myapp.sync:SyncService.processed_records": (2_011_334, 182 * MiB),
              "myapp.web:_requests": (5000, 3 * MiB), "myapp.util:stable": (50, 8192)},
             {"str": (2_015_000, 150 * MiB), "dict": (5300, 2 * MiB), "int": (10, 280)},
             {"myapp/sync.py:88": (2_000_000, 120 * MiB), "myapp/web.py:12": (400, 40_000)})


def write(tmp_path: Path) -> tuple[Path, Path]:
    a = write_json_private(tmp_path / "a.json", A)
    b = write_json_private(tmp_path / "b.json", B)
    return a, b


def test_diff_ranks_owners_then_types_then_sites() -> None:
    growers = diff_snapshots(A, B)
    assert [g.kind for g in growers] == ["owner"] * 2 + ["type"] * 3 + ["site"] * 2
    assert [g.name for g in growers[:2]] == ["myapp.sync:SyncService.processed_records",
                                             "myapp.web:_requests"]
    assert growers[0].delta_items == 2_010_334
    assert growers[0].describe() == (
        "myapp.sync:SyncService.processed_records (set) +2,010,334 items, +181.0 MiB in 40 min")
    assert "myapp.util:stable" not in {g.name for g in growers}  # did not grow
    assert [g.name for g in growers[2:5]] == ["str", "dict", "int"]
    assert growers[5].name == "myapp/sync.py:88"


def test_cli_diff_text_order(tmp_path: Path, run_cli: Any) -> None:
    a, b = write(tmp_path)
    result = run_cli("diff", str(a), str(b))
    assert result.returncode == 0, result.stderr
    culprit, _, out = result.stdout.partition("\n")
    assert culprit.startswith("Likely culprit: myapp.sync:SyncService.processed_records (set)")
    assert "growing type str (+2,010,000 objects" in culprit
    assert "allocated at myapp/sync.py:88" in culprit
    positions = [out.index(text) for text in (
        "Growing containers", "myapp.sync:SyncService.processed_records", "myapp.web:_requests",
        "Growing types", "str +2,010,000 objects", "Growing allocation sites",
        "myapp/sync.py:88")]
    assert positions == sorted(positions)


def test_cli_diff_top_and_json(tmp_path: Path, run_cli: Any) -> None:
    a, b = write(tmp_path)
    result = run_cli("diff", str(a), str(b), "--top", "1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["over_s"] == 2400.0
    assert [(g["kind"], g["name"]) for g in data["growers"]] == [
        ("owner", "myapp.sync:SyncService.processed_records"), ("type", "str"),
        ("site", "myapp/sync.py:88")]


def test_cli_diff_bad_input_exits_2(tmp_path: Path, run_cli: Any) -> None:
    a, _ = write(tmp_path)
    missing = run_cli("diff", str(a), str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    other = tmp_path / "trace.jsonl"
    other.write_text('{"schema": "memwarden.trace/1"}\n')
    wrong = run_cli("diff", str(a), str(other))
    assert wrong.returncode == 2 and "not a memwarden.snapshot/1 snapshot" in wrong.stderr
