"""Sampler end to end over the readers: fixture trees, then this process for real."""

from __future__ import annotations

import os
from pathlib import Path

from memwarden.readers.cgroup import find_memory_cgroup
from memwarden.readers.tree import read_tree_memory
from memwarden.sample import Sampler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_fixture_sample_uses_the_cgroup_limit_and_working_set() -> None:
    k8s = FIXTURES / "cgroup" / "v2-k8s"
    location = find_memory_cgroup(1, k8s / "proc", fs_root=k8s / "fs")
    sampler = Sampler(pid=100, proc_root=FIXTURES / "proc", cgroup=location)
    sample = sampler.sample()
    assert sample.limit.limit_bytes == 536870912 and sample.limit.source == "cgroup"
    assert sample.metric == "working_set"
    assert sample.measured_bytes == 268435456 - 41943040
    assert sample.cgroup_pressure is not None and sample.cgroup_pressure.some.avg10 == 1.53
    assert sample.tree == read_tree_memory(100, FIXTURES / "proc", with_status=False)
    assert sample.unavailable == ()


def test_fixture_sample_budget_below_a_max_cgroup_uses_tree_rss() -> None:
    ns = FIXTURES / "cgroup" / "v2-cgroupns-max"
    location = find_memory_cgroup(1, ns / "proc", fs_root=ns / "fs")
    sample = Sampler(
        pid=100, budget_bytes=64 * 2**20, proc_root=FIXTURES / "proc", cgroup=location
    ).sample()
    assert sample.limit.limit_bytes == 64 * 2**20 and sample.limit.source == "budget"
    assert sample.metric == "tree_rss"
    assert sample.tree is not None and sample.measured_bytes == sample.tree.rss_bytes


def test_fixture_sample_without_cgroup_or_psi_names_them_unavailable(tmp_path: Path) -> None:
    sample = Sampler(pid=None, proc_root=tmp_path, cgroup=None).sample()
    assert set(sample.unavailable) == {"cgroup", "meminfo", "psi"}
    assert sample.measured_bytes is None and sample.headroom_bytes is None


def test_real_sample_of_this_process() -> None:
    sample = Sampler(pid=os.getpid(), include_runtime=True).sample()
    assert sample.tree is not None and sample.tree.root_pid == os.getpid()
    assert sample.system is not None and sample.limit.limit_bytes is not None
    assert sample.runtime is not None and sample.runtime.allocated_blocks > 0
    assert sample.measured_bytes is not None and sample.headroom_bytes is not None


def test_quick_sample_rereads_the_tree_and_keeps_the_rest() -> None:
    k8s = FIXTURES / "cgroup" / "v2-k8s"
    location = find_memory_cgroup(1, k8s / "proc", fs_root=k8s / "fs")
    sampler = Sampler(pid=100, proc_root=FIXTURES / "proc", cgroup=location)
    full = sampler.sample()
    quick = sampler.sample(refresh=False)
    # working set: the usage preads again, inactive_file is the full sample's
    assert quick.measured_bytes == full.measured_bytes and quick.metric == "working_set"
    assert quick.limit == full.limit and quick.system is full.system
    assert quick.monotonic_s >= full.monotonic_s
    tree_sampler = Sampler(pid=os.getpid(), metric="tree_rss")
    first = tree_sampler.sample(refresh=False)  # no full sample yet: a full one
    assert first.system is not None
    ballast = bytearray(32 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    grown = tree_sampler.sample(refresh=False)
    assert grown.system is first.system
    assert grown.tree is not None and first.tree is not None
    assert grown.tree.rss_bytes - first.tree.rss_bytes > 16 * 2**20
    assert grown.measured_bytes == grown.tree.rss_bytes
    tree_sampler.close()
