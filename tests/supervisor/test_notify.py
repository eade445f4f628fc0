"""Notifiers: PSI triggers can be armed (or say why not), modes are named for the log line."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memwarden.supervisor import notify
from memwarden.supervisor.cgroupctl import OwnedCgroup
from tests.supervisor.lossless_helpers import wait_readable, wait_until

pytestmark = pytest.mark.cgroup


def _psi(**options: int) -> notify.PsiTrigger:
    try:
        return notify.PsiTrigger(**options)  # type: ignore[arg-type]
    except notify.NotifyUnavailable as err:
        pytest.skip(f"/proc/pressure/memory rejects triggers here: {err}")


def test_psi_trigger_is_armed_and_selectable() -> None:
    trigger = _psi(stall_us=150_000, window_us=2_000_000)
    try:
        assert trigger.mode == "psi"
        assert trigger.spec == "some 150000 2000000"
        with selectors.DefaultSelector() as selector:
            selector.register(trigger, selectors.EVENT_READ)
            selector.select(0)
        assert trigger.drain() >= 0
    finally:
        trigger.close()


def test_psi_window_the_kernel_rejects_is_rounded_up_to_two_seconds() -> None:
    trigger = _psi(stall_us=100_000, window_us=1_000_000)
    try:
        # Without CAP_SYS_RESOURCE (root in a container, here) 1 s is refused: 2 s is used.
        assert trigger.spec in ("some 100000 1000000", "some 100000 2000000")
        assert trigger.spec.endswith(str(trigger.window_us))
    finally:
        trigger.close()


def test_psi_stall_longer_than_window_is_refused() -> None:
    with pytest.raises(notify.NotifyUnavailable, match="within the window"):
        notify.PsiTrigger(stall_us=3_000_000, window_us=2_000_000)


def test_missing_group_is_named(tmp_path: Path) -> None:
    with pytest.raises(notify.NotifyUnavailable, match="gone"):
        notify.CgroupV1Event(tmp_path / "gone", threshold_bytes=1)
    with pytest.raises(notify.NotifyUnavailable, match="gone"):
        notify.CgroupEventsV2(tmp_path / "gone")


def test_modes_for_the_log_line(owned_group: OwnedCgroup) -> None:
    assert notify.describe([]) == "poll"
    if owned_group.version == 1:
        armed = notify.arm_v1(owned_group.path, threshold_bytes=100 << 20)
    else:
        armed = [notify.CgroupEventsV2(owned_group.path)]
    mode = f"cgroup-v{owned_group.version}-" + ("eventfd" if owned_group.version == 1 else "events")
    try:
        assert notify.describe(armed) == mode
        trigger = _psi()
        armed.append(trigger)
        assert notify.describe(armed) == f"{mode}+psi"
    finally:
        notify.close_all(armed)


def _unified_root() -> Path:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return Path(fields[4])
    pytest.skip("no cgroup2 hierarchy is mounted")


def test_v2_events_file_wakes_on_change(reaper: list[subprocess.Popen[bytes]]) -> None:
    # The machines here have no v2 memory controller, but every v2 group has cgroup.events,
    # which kernfs notifies exactly like memory.events: a real test of the POLLPRI path.
    group = _unified_root() / f"memwarden-notifytest.{os.getpid()}"
    try:
        group.mkdir()
    except OSError as err:
        pytest.skip(f"cannot create a cgroup v2 group: {err}")
    events = None
    try:
        events = notify.CgroupEventsV2(group, "cgroup.events")
        assert events.events["populated"] == 0
        assert events.drain() == 0  # nothing changed since it was armed
        child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE)
        reaper.append(child)
        (group / "cgroup.procs").write_text(str(child.pid))
        assert wait_readable(events)
        assert events.drain() >= 1
        assert events.events["populated"] == 1
    finally:
        if events is not None:
            events.close()
        for pid in (group / "cgroup.procs").read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        assert wait_until(lambda: not (group / "cgroup.procs").read_text().strip())
        group.rmdir()
