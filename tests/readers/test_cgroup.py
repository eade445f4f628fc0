"""cgroup discovery and figures against fixture trees: this machine's v1, hand-written v2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from memwarden.readers.cgroup import (
    CgroupLocation,
    CgroupUsageReader,
    find_memory_cgroup,
    read_cgroup_memory,
)

pytestmark = pytest.mark.cgroup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cgroup"


def _find(scenario: str) -> CgroupLocation | None:
    root = FIXTURES / scenario
    return find_memory_cgroup(1, root / "proc", fs_root=root / "fs")


def _group(scenario: str, path: str) -> Path:
    return FIXTURES / scenario / "fs" / path.lstrip("/")


def test_this_machine_hybrid_falls_back_to_v1() -> None:
    # The unified hierarchy is mounted but has only hugetlb, so memory lives in v1.
    location = _find("v1-host")
    assert location is not None
    assert location.version == 1
    assert location.path.parent == _group("v1-host", "/sys/fs/cgroup/memory/process_api")


def test_v1_no_limit_huge_value_reads_as_none() -> None:
    location = _find("v1-host")
    assert location is not None
    memory = read_cgroup_memory(location)
    assert memory is not None
    raw_limit = int((location.path / "memory.limit_in_bytes").read_text())
    assert raw_limit == 9223372036854771712  # PAGE_COUNTER_MAX * 4096: "no limit"
    assert memory.limit_bytes is None
    assert memory.usage_bytes == int((location.path / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (location.path / "memory.stat").read_text().splitlines())
    assert memory.inactive_file_bytes == int(stat["total_inactive_file"])
    assert memory.anon_bytes == int(stat["total_rss"])
    assert memory.file_bytes == int(stat["total_cache"])
    assert memory.working_set_bytes == memory.usage_bytes - memory.inactive_file_bytes
    assert (memory.oom_kill_events, memory.failcnt, memory.under_oom) == (0, 0, False)
    assert memory.oom_kill_disabled is False
    assert memory.oom_events is None and memory.high_bytes is None


def test_v1_docker_comounted_with_cpu_and_mount_root_not_slash() -> None:
    location = _find("v1-docker")
    assert location == CgroupLocation(1, _group("v1-docker", "/sys/fs/cgroup/cpu,memory"))
    memory = read_cgroup_memory(location)
    assert memory is not None
    assert memory.limit_bytes == 300 * 2**20  # a real 300 MiB group, captured on this machine
    assert memory.usage_bytes is not None and memory.usage_bytes > 100 * 2**20


def test_v1_plain_keys_when_hierarchical_totals_are_missing(tmp_path: Path) -> None:
    (tmp_path / "memory.usage_in_bytes").write_text("1000\n")
    (tmp_path / "memory.limit_in_bytes").write_text("4096\n")
    (tmp_path / "memory.stat").write_text("cache 300\nrss 600\ninactive_file 1200\n")
    memory = read_cgroup_memory(CgroupLocation(1, tmp_path))
    assert memory is not None
    assert (memory.anon_bytes, memory.file_bytes, memory.inactive_file_bytes) == (600, 300, 1200)
    assert memory.working_set_bytes == 0  # floored: inactive_file can exceed a fuzzy usage
    assert memory.limit_bytes == 4096
    # Missing files are unknown, never 0.
    assert memory.failcnt is None and memory.oom_kill_events is None
    assert memory.under_oom is None and memory.oom_kill_disabled is None


def test_v1_64k_page_no_limit_value_is_none(tmp_path: Path) -> None:
    (tmp_path / "memory.limit_in_bytes").write_text("9223372036854710272\n")  # arm64, 64 KiB
    memory = read_cgroup_memory(CgroupLocation(1, tmp_path))
    assert memory is not None and memory.limit_bytes is None
    assert memory.usage_bytes is None and memory.working_set_bytes is None


def test_v2_kubernetes_group_is_the_mount_root() -> None:
    location = _find("v2-k8s")
    assert location == CgroupLocation(2, _group("v2-k8s", "/sys/fs/cgroup"))
    memory = read_cgroup_memory(location)
    assert memory is not None
    assert memory.usage_bytes == 268435456
    assert memory.limit_bytes == 536870912
    assert memory.high_bytes == 483183820
    assert (memory.anon_bytes, memory.file_bytes) == (201326592, 62914560)
    assert memory.inactive_file_bytes == 41943040
    assert memory.working_set_bytes == 268435456 - 41943040
    assert (memory.oom_events, memory.oom_kill_events, memory.failcnt) == (2, 1, 5)
    assert memory.under_oom is None and memory.oom_kill_disabled is None


def test_v2_cgroup_namespace_with_max_limits() -> None:
    location = _find("v2-cgroupns-max")
    assert location == CgroupLocation(2, _group("v2-cgroupns-max", "/sys/fs/cgroup"))
    memory = read_cgroup_memory(location)
    assert memory is not None
    assert memory.limit_bytes is None and memory.high_bytes is None
    # inactive_file above usage (reclaimable cache raced the counter): floored at 0.
    assert memory.working_set_bytes == 0
    assert (memory.oom_events, memory.oom_kill_events, memory.failcnt) == (0, 0, 0)


def test_v2_missing_files_give_none_fields() -> None:
    location = _find("v2-missing")
    assert location == CgroupLocation(2, _group("v2-missing", "/sys/fs/cgroup/app"))
    memory = read_cgroup_memory(location)
    assert memory is not None
    assert memory.usage_bytes == 1048576
    assert memory.limit_bytes is None and memory.high_bytes is None
    assert memory.anon_bytes is None and memory.inactive_file_bytes is None
    assert memory.working_set_bytes is None
    assert memory.oom_events is None and memory.failcnt is None


@pytest.mark.parametrize("scenario", ["v2-no-memory", "v2-outside-ns"])
def test_no_reachable_memory_cgroup_is_none(scenario: str) -> None:
    assert _find(scenario) is None


def test_unreadable_proc_files_and_gone_directory_are_none(tmp_path: Path) -> None:
    assert find_memory_cgroup(1, tmp_path) is None
    assert read_cgroup_memory(CgroupLocation(2, tmp_path / "gone")) is None


def test_group_removed_after_discovery_reads_as_none(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    shutil.copytree(FIXTURES / "v2-k8s" / "fs", fs)
    location = find_memory_cgroup(1, FIXTURES / "v2-k8s" / "proc", fs_root=fs)
    assert location is not None
    shutil.rmtree(location.path)
    assert read_cgroup_memory(location) is None


def test_real_find_for_self_agrees_with_proc_self_cgroup() -> None:
    location = find_memory_cgroup()
    if location is None:
        pytest.skip("no memory cgroup on this machine")
    assert location.path.is_dir()
    memory = read_cgroup_memory(location)
    assert memory is not None
    # The v2 root group has no memory.current (nor a limit): usage is unknown there, not 0.
    v2_root = location.version == 2 and not (location.path / "memory.current").exists()
    assert (memory.usage_bytes is None) == v2_root
    if location.version == 1:
        group = next(
            line.split(":", 2)[2]
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if "memory" in line.split(":")[1].split(",")
        )
        assert str(location.path).endswith(group.rstrip("/"))


def test_kept_fd_usage_reader_on_fixture_v2(tmp_path: Path) -> None:
    (tmp_path / "memory.current").write_text("4096\n")
    with CgroupUsageReader(CgroupLocation(2, tmp_path)) as reader:
        assert reader.read_usage_bytes() == 4096
    with pytest.raises(ValueError, match="closed"):
        reader.read_usage_bytes()


def _read_guest(scenario: str) -> tuple[CgroupLocation, dict[str, int]]:
    location = _find(scenario)
    assert location is not None
    stat = dict(line.split() for line in (location.path / "memory.stat").read_text().splitlines())
    return location, {k: int(v) for k, v in stat.items()}


def test_guest_v2_group_below_the_root() -> None:
    # Captured on a real cgroup v2 kernel: a 64 MiB holder in a 256 MiB group.
    location, stat = _read_guest("v2-guest-group")
    assert location.version == 2
    assert location.path.name.startswith("memwarden-test-")
    memory = read_cgroup_memory(location)
    assert memory is not None
    assert memory.limit_bytes == 256 * 2**20 and memory.high_bytes is None  # "max"
    assert memory.usage_bytes == int((location.path / "memory.current").read_text())
    assert memory.working_set_bytes == memory.usage_bytes - stat["inactive_file"]
    assert memory.anon_bytes == stat["anon"] >= 64 * 2**20
    assert (memory.oom_events, memory.oom_kill_events, memory.failcnt) == (0, 0, 0)


def test_guest_v2_container_view_is_the_mount_root() -> None:
    # The same group from inside its cgroup namespace, cgroupfs mounted read-only: "0::/" and
    # a mount whose root is "/" at /sys/fs/cgroup. The group's files are the mount's root.
    location, stat = _read_guest("v2-guest-container")
    assert location == CgroupLocation(2, _group("v2-guest-container", "/sys/fs/cgroup"))
    memory = read_cgroup_memory(location)
    assert memory is not None
    assert memory.limit_bytes == 256 * 2**20
    assert memory.working_set_bytes == memory.usage_bytes - stat["inactive_file"]  # type: ignore[operator]
    assert memory.oom_kill_events == 0
