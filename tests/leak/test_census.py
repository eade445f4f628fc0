"""The census names the right owner path for every container leak of the scenario suite."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from leaks import LEAKS, load

from memwarden.leak.attribute import census_document
from memwarden.leak.census import take_census
from memwarden.leak.diff import diff_snapshots

CONTAINER_LEAKS = [name for name in LEAKS if load(name).OWNER is not None]


@pytest.mark.parametrize("name", CONTAINER_LEAKS)
def test_top_owner_is_the_leaking_container(name: str) -> None:
    scenario = load(name)
    scenario.step(-1)
    before = census_document()
    for i in range(25):
        scenario.step(i)
    after = census_document()
    owners = [g for g in diff_snapshots(before, after) if g.kind == "owner"]
    assert owners, "no container grew"
    top = owners[0]
    assert top.name == scenario.OWNER, [g.describe() for g in owners[:5]]
    assert top.delta_items > 0 and top.delta_bytes > 0


@pytest.fixture
def myapp() -> Iterator[types.ModuleType]:
    module = types.ModuleType("myapp.sync")
    exec(
        "class SyncService:\n"
        "    processed_records = set()\n"
        "    def __init__(self):\n"
        "        self.pending = {}\n"
        "service = SyncService()\n",
        module.__dict__,
    )
    sys.modules["myapp.sync"] = module
    yield module
    del sys.modules["myapp.sync"]


def test_owner_paths_for_class_and_instance_attributes(myapp: types.ModuleType) -> None:
    myapp.SyncService.processed_records.update(range(5000))
    myapp.service.pending.update({n: str(n) for n in range(3000)})
    census = take_census(types=False)
    by_owner = {c.owner: c for c in census.containers}
    records = by_owner["myapp.sync:SyncService.processed_records"]
    assert (records.type, records.items) == ("set", 5000)
    assert records.size_bytes >= sys.getsizeof(myapp.SyncService.processed_records)
    pending = by_owner["myapp.sync:service.pending"]
    assert (pending.type, pending.items) == ("dict", 3000)


def test_census_is_sliced_and_counts_types(myapp: types.ModuleType) -> None:
    keep = [[n] for n in range(200_000)]  # enough work for several slices
    census = take_census(slice_s=0.001)
    assert census.slices > 1
    counts = {t.type: t.count for t in census.types}
    assert counts["list"] >= len(keep)
    assert census.tracked_objects >= len(keep)
