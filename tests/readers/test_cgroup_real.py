"""A real memory group made by the test (v2 where the kernel has it, else v1): limit, usage,
working set, discovery, the kept-fd reader."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.readers.cgroup import (
    CgroupLocation,
    CgroupUsageReader,
    find_memory_cgroup,
    read_cgroup_memory,
)
from memwarden.sample import Sampler
from tests.cgroup_helpers import (
    close_pipes,
    group_pids,
    memory_cgroup,
    memory_cgroup_reason,
    memory_cgroup_version,
    spawn_allocator,
    usage_file,
    wait_ready,
)

pytestmark = pytest.mark.cgroup

LIMIT_BYTES = 300 * 2**20
ALLOC_BYTES = 100 * 2**20


@pytest.fixture
def child_in_group(reaper: list[subprocess.Popen[bytes]]) -> Iterator[tuple[Path, int]]:
    reason = memory_cgroup_reason()
    if reason:
        pytest.skip(reason)
    with memory_cgroup(LIMIT_BYTES) as group:
        child = spawn_allocator(ALLOC_BYTES, cgroup=group)
        reaper.append(child)
        try:
            yield group, wait_ready(child)
        finally:
            close_pipes(child)


def test_real_group_limit_usage_and_working_set(child_in_group: tuple[Path, int]) -> None:
    group, pid = child_in_group
    assert group_pids(group) == [pid]
    version = memory_cgroup_version()
    location = find_memory_cgroup(pid)
    assert location == CgroupLocation(version, group)
    memory = read_cgroup_memory(location)
    assert memory is not None
    direct_usage = int(usage_file(group).read_text())
    assert memory.limit_bytes == LIMIT_BYTES
    assert memory.usage_bytes is not None and memory.working_set_bytes is not None
    # The child is blocked on stdin: usage holds still apart from per-cpu charge batching.
    assert abs(memory.usage_bytes - direct_usage) <= 0.03 * direct_usage
    assert ALLOC_BYTES <= memory.working_set_bytes <= memory.usage_bytes < LIMIT_BYTES
    assert memory.anon_bytes is not None and memory.anon_bytes >= ALLOC_BYTES
    if version == 1:
        assert (memory.under_oom, memory.oom_kill_disabled, memory.failcnt) == (False, False, 0)
    else:
        # v2 memory.events: nothing hit the wall; no v1-only fields.
        assert (memory.failcnt, memory.oom_events, memory.oom_kill_events) == (0, 0, 0)
        assert (memory.under_oom, memory.oom_kill_disabled, memory.high_bytes) == (None,) * 3


def test_real_group_drives_the_sample(child_in_group: tuple[Path, int]) -> None:
    _group, pid = child_in_group
    sample = Sampler(pid=pid).sample()
    assert sample.limit.limit_bytes == LIMIT_BYTES and sample.limit.source == "cgroup"
    assert sample.metric == "working_set"
    assert sample.measured_bytes is not None and sample.measured_bytes >= ALLOC_BYTES
    assert sample.tree is not None and sample.tree.rss_bytes >= ALLOC_BYTES
    assert sample.headroom_bytes == LIMIT_BYTES - sample.measured_bytes


def test_group_is_removed_and_its_processes_killed() -> None:
    reason = memory_cgroup_reason()
    if reason:
        pytest.skip(reason)
    with memory_cgroup(LIMIT_BYTES) as group:
        child = spawn_allocator(2**20, cgroup=group)
        wait_ready(child)
    # Left running on purpose: the context manager must kill it before it can rmdir.
    assert not group.exists()
    assert child.wait(timeout=60) == -9
    close_pipes(child)


def test_kept_fd_usage_reader_follows_the_group(child_in_group: tuple[Path, int]) -> None:
    group, _pid = child_in_group
    location = find_memory_cgroup(_pid)
    assert location is not None
    with CgroupUsageReader(location) as reader:
        usage = reader.read_usage_bytes()
        direct = int(usage_file(group).read_text())
        assert usage is not None and abs(usage - direct) <= 0.03 * direct
        assert usage >= ALLOC_BYTES


def test_kept_fd_usage_reader_reads_none_once_the_group_is_removed() -> None:
    reason = memory_cgroup_reason()
    if reason:
        pytest.skip(reason)
    with memory_cgroup(None) as group:
        reader = CgroupUsageReader(CgroupLocation(memory_cgroup_version(), group))
        assert reader.read_usage_bytes() == 0  # an empty group charges nothing
    with reader:
        assert not group.exists()
        assert reader.read_usage_bytes() is None
