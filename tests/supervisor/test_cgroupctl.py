"""Owned cgroups, for real: a child at the wall is paused, not killed, and stops gracefully."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memwarden.readers.cgroup import CgroupLocation
from memwarden.supervisor import cgroupctl, notify
from memwarden.supervisor.cgroupctl import OwnedCgroup
from tests.helpers import child_env
from tests.supervisor.lossless_helpers import (
    MIB,
    read_line,
    send,
    spawn_allocator,
    wait_readable,
    wait_until,
)

pytestmark = pytest.mark.cgroup


def _wall_bytes(group: OwnedCgroup) -> int:
    name = "memory.limit_in_bytes" if group.version == 1 else "memory.max"
    return int((group.path / name).read_text())


def test_create_sets_the_wall_and_destroy_is_idempotent(owned_group: OwnedCgroup) -> None:
    path = owned_group.path
    assert path.name.endswith(f".{os.getpid()}")
    assert _wall_bytes(owned_group) == 160 * MIB
    if owned_group.version == 1:
        assert "oom_kill_disable 1" in (path / "memory.oom_control").read_text()
    else:  # v2 throttles at memory.high, 16 MiB below the wall
        assert int((path / "memory.high").read_text()) == 144 * MIB
    assert owned_group.limit_bytes == 160 * MIB
    assert owned_group.grant_headroom(32 * MIB) == 192 * MIB
    assert _wall_bytes(owned_group) == 192 * MIB
    owned_group.reset_limits()
    assert _wall_bytes(owned_group) == 160 * MIB
    owned_group.destroy()
    owned_group.destroy()
    assert not path.exists()


def test_preexec_places_the_child_and_usage_is_its_charge(
    owned_group: OwnedCgroup, reaper: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    child = spawn_allocator(reaper, owned_group, tmp_path / "hook", prealloc_mib=40)
    assert owned_group.pids() == [child.pid]
    assert owned_group.usage_bytes() >= 40 * MIB
    assert not owned_group.is_paused()
    owned_group.destroy()  # kills what is left, then removes the directory
    assert child.wait(60) == -signal.SIGKILL
    assert not owned_group.path.exists()


def _wall_event(group: OwnedCgroup) -> notify.CgroupV1Event | notify.CgroupEventsV2:
    """What wakes the supervisor at the wall: v1 OOM (paused), v2 memory.events (high)."""
    if group.version == 1:
        return notify.CgroupV1Event.oom(group.path)
    return notify.CgroupEventsV2(group.path)


def _stop_at_the_wall(
    group: OwnedCgroup, child: subprocess.Popen[bytes],
    oom: notify.CgroupV1Event | notify.CgroupEventsV2,
) -> int:
    """The supervisor's part: paused -> SIGTERM -> headroom; more headroom if it pauses again."""
    assert wait_readable(oom), "no wall event although the child allocates past the wall"
    oom.drain()
    # v2: memory.events counts 'high' from the first throttled charge; the pause follows.
    assert wait_until(group.is_paused)
    grants = int(cgroupctl.graceful_stop(group, child.pid))
    with selectors.DefaultSelector() as selector:
        selector.register(oom, selectors.EVENT_READ)
        while child.poll() is None and grants < 8:
            if selector.select(0.05) and oom.drain() and group.is_paused():
                group.grant_headroom()
                grants += 1
    return child.wait(60)


def test_child_at_the_wall_is_paused_then_stops_gracefully(
    owned_group: OwnedCgroup, reaper: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    oom = _wall_event(owned_group)
    try:
        for run in range(3):
            hook_file = tmp_path / f"hook{run}"
            # ~60 MiB held (interpreter + 50 MiB), 100 MiB below the 160 MiB wall.
            child = spawn_allocator(reaper, owned_group, hook_file, prealloc_mib=50)
            send(child, "spike")
            assert _stop_at_the_wall(owned_group, child, oom) == 0
            assert hook_file.read_text() == "hook ran"
            assert owned_group.oom_kill_count() == 0
            owned_group.reset_limits()
    finally:
        oom.close()


def test_threshold_eventfd_fires_when_usage_crosses(
    owned_group: OwnedCgroup, reaper: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    if owned_group.version == 2:
        pytest.skip("cgroup v2 has no usage threshold events (memory.events + poll there)")
    child = spawn_allocator(reaper, owned_group, tmp_path / "hook", prealloc_mib=10)
    event = notify.CgroupV1Event(owned_group.path, threshold_bytes=100 * MIB)
    try:
        assert event.mode == "cgroup-v1-eventfd"
        send(child, "alloc 20")
        assert read_line(child) == "ok"
        assert owned_group.usage_bytes() < 100 * MIB
        assert event.drain() == 0  # below the threshold: nothing was signalled
        send(child, "alloc 100")
        assert read_line(child) == "ok"
        assert wait_readable(event)
        assert event.drain() >= 1
        assert owned_group.usage_bytes() >= 100 * MIB
    finally:
        event.close()


def test_cleanup_stale_removes_groups_of_dead_supervisors(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        _, parent = cgroupctl.find_parent()
    except cgroupctl.CgroupUnavailable as err:
        pytest.skip(f"cannot own a memory cgroup here: {err}")
    stale = parent / f"memwarden-stalecheck.{dead.pid}"
    alive = parent / f"memwarden-stalecheck.{os.getppid()}"  # a live owner: not ours to remove
    stale.mkdir()
    alive.mkdir()
    try:
        removed = cgroupctl.cleanup_stale("memwarden-stalecheck.")
        assert removed == [stale]
        assert not stale.exists()
        assert alive.exists()
    finally:
        for path in (stale, alive):
            if path.exists():
                path.rmdir()


def test_cleanup_stale_never_judges_a_group_of_another_pid_namespace(tmp_path: Path) -> None:
    """A pid means something only in its namespace: a supervisor under `unshare --pid` (or in a
    container) must not take the host's live groups for stale ones, nor the host theirs."""
    try:
        _, parent = cgroupctl.find_parent()
    except cgroupctl.CgroupUnavailable as err:
        pytest.skip(f"cannot own a memory cgroup here: {err}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = parent / f"memwarden-nscheck.{os.getppid()}"  # live here, invisible in a new namespace
    foreign = parent / f"memwarden-nscheck.{dead.pid}-ns12345"  # a dead pid, but not ours
    host.mkdir()
    foreign.mkdir()
    try:
        assert cgroupctl.cleanup_stale("memwarden-nscheck.") == []
        assert foreign.exists()
        if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists():
            pytest.skip("needs root and unshare(1) for a new PID namespace")
        inside = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
             "from memwarden.supervisor import cgroupctl\n"
             "print(cgroupctl.owner_tag(), cgroupctl.cleanup_stale('memwarden-nscheck.'))"],
            env=child_env(), capture_output=True, text=True, timeout=60)
        assert inside.returncode == 0, inside.stderr
        tag, _, removed = inside.stdout.strip().partition(" ")
        assert tag.startswith("1-ns") and removed == "[]"  # PID 1 there, tagged with its ns
        assert host.exists() and foreign.exists()
    finally:
        for path in (host, foreign):
            if path.exists():
                path.rmdir()


def test_v2_group_without_delegated_memory_controller_is_refused(tmp_path: Path) -> None:
    # A hand-written cgroup v2 group per cgroup-v2.rst (these machines run v1 memory).
    (tmp_path / "cgroup.subtree_control").write_text("cpu io\n")
    location = CgroupLocation(2, tmp_path)
    with pytest.raises(cgroupctl.CgroupUnavailable, match="does not delegate the memory"):
        cgroupctl.find_parent(location)
    (tmp_path / "cgroup.subtree_control").write_text("cpu io memory\n")
    assert cgroupctl.find_parent(location) == (2, tmp_path)


def test_missing_group_is_named(tmp_path: Path) -> None:
    location = CgroupLocation(2, tmp_path / "gone")
    with pytest.raises(cgroupctl.CgroupUnavailable, match="gone"):
        cgroupctl.find_parent(location)
