"""Snapshot files: 0600, schema memwarden.snapshot/1, atomic, default names and directory."""

from __future__ import annotations

import json
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

import memwarden
from memwarden.errors import ConfigError
from memwarden.leak.snapshot import SCHEMA, read_snapshot, write_snapshot
from memwarden.leak.trigger import parse_signal

held_for_snapshot = {f"key-{n}": [n] for n in range(20_000)}


def check_schema(document: dict[str, object]) -> None:
    assert document["schema"] == SCHEMA
    assert document["pid"] == os.getpid()
    assert isinstance(document["time"], float)
    assert isinstance(document["argv"], list)
    assert isinstance(document["rss_bytes"], int) and document["rss_bytes"] > 0
    types = document["types"]
    assert isinstance(types, list) and types
    assert set(types[0]) == {"type", "count", "size_bytes"}
    containers = document["containers"]
    assert isinstance(containers, list) and containers
    assert set(containers[0]) == {"owner", "type", "items", "size_bytes", "item_type",
                                  "item_bytes"}


def test_snapshot_is_private_and_valid(tmp_path: Path) -> None:
    path = memwarden.snapshot(tmp_path / "heap.json")
    assert path == tmp_path / "heap.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    check_schema(document)
    assert document["tracemalloc"] is None
    owners = {c["owner"]: c for c in document["containers"]}
    mine = owners[f"{__name__}:held_for_snapshot"]
    assert (mine["type"], mine["items"]) == ("dict", 20_000)
    assert read_snapshot(path)["pid"] == os.getpid()
    assert [p.name for p in tmp_path.iterdir()] == ["heap.json"]  # no temp file left


def test_default_name_in_snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMWARDEN_SNAPSHOT_DIR", str(tmp_path))
    path = write_snapshot()
    assert path.parent == tmp_path
    assert path.name.startswith(f"memwarden-snapshot-{os.getpid()}-")
    assert path.suffix == ".json"


def test_tracemalloc_sites_when_tracing(tmp_path: Path) -> None:
    tracemalloc.start(3)
    try:
        kept = [bytearray(4096) for _ in range(200)]
        document = read_snapshot(write_snapshot(tmp_path))
    finally:
        tracemalloc.stop()
    sites = document["tracemalloc"]
    assert isinstance(sites, list) and sites
    assert set(sites[0]) == {"site", "size_bytes", "count", "traceback"}
    assert any(s["site"].startswith(__file__) and s["size_bytes"] >= 200 * 4096 for s in sites)
    assert kept


def test_read_snapshot_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "trace.json"
    other.write_text(json.dumps({"schema": "memwarden.trace/1"}))
    with pytest.raises(ValueError, match=r"not a memwarden\.snapshot/1 snapshot"):
        read_snapshot(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        read_snapshot(broken)


def test_parse_signal() -> None:
    assert parse_signal("SIGUSR2") == parse_signal("usr2") == parse_signal("12") == 12
    assert parse_signal("off") is None
    with pytest.raises(ConfigError, match="SIGNOPE"):
        parse_signal("SIGNOPE")
