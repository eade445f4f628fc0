"""PSI under `memwarden run`: the trigger is armed (or says why not) and memory stalls wake
the loop; --psi values are checked like every other option."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from memwarden.errors import ConfigError
from memwarden.supervisor.config import PsiSpec, parse_psi
from memwarden.supervisor.notify import NotifyUnavailable, PsiTrigger
from tests.helpers import child_env, memwarden_cmd
from tests.supervisor.sup_helpers import Running, cgroup_control_reason


def test_psi_specs() -> None:
    assert parse_psi("some 100ms 2s") == PsiSpec("some", 100_000, 2_000_000)
    assert parse_psi("full 50ms 500ms") == PsiSpec("full", 50_000, 500_000)
    assert parse_psi("off") is None and parse_psi(False) is None
    for bad, why in [("sometimes 1s 2s", "some|full"), ("some 1s", "some|full"),
                     ("some 1s 20s", "500ms..10s"), ("some 3s 2s", "within the window"),
                     ("some fast 2s", "some|full")]:
        with pytest.raises(ConfigError, match=why):
            parse_psi(bad)


def test_bad_psi_option_exits_2_naming_it() -> None:
    done = subprocess.run(memwarden_cmd("run", "--psi", "some 1s 20s", "--", "true"),
                          env=child_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "psi" in done.stderr and "'some 1s 20s'" in done.stderr, done.stderr


def _filesystem_type(path: Path) -> str:
    """The type of the mount holding path (the longest mount point that contains it)."""
    best, kind = "", ""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _device, mount_point, fstype = line.split()[:3]
        if str(path).startswith(mount_point.rstrip("/") + "/") and len(mount_point) > len(best):
            best, kind = mount_point, fstype
    return kind


def _pressure_reason() -> str | None:
    reason = cgroup_control_reason()  # the owned group is what makes the stalls
    if reason is not None:
        return reason
    try:
        PsiTrigger(stall_us=1_000, window_us=2_000_000).close()
    except NotifyUnavailable as err:
        return f"no PSI triggers here: {err}"
    return None


@pytest.mark.cgroup
@pytest.mark.skipif(_pressure_reason() is not None, reason=_pressure_reason() or "")
def test_memory_stalls_wake_the_loop(
    supervise: Callable[..., Running], tmp_path: Path
) -> None:
    # The program writes 300 MB of page cache through its owned group's ~56 MiB wall, again and
    # again: the kernel reclaims (and waits on writeback) inside the group, which PSI counts as
    # memory stall. One pass can end before a stall is counted on a busy host, so it goes on
    # until the supervisor is stopped. Its RSS stays tiny, so no tier is reached: only the
    # trigger can speak.
    if _filesystem_type(tmp_path) == "tmpfs":
        pytest.skip("the temporary directory is tmpfs: its pages are shmem, which the group "
                    "cannot reclaim without swap (the program would really be at its wall)")
    fill = tmp_path / "fill"
    command = ["sh", "-c", f"while :; do dd if=/dev/zero of={fill} bs=1M count=300 status=none; "
               "done"]
    sup = supervise("--limit", "40M", "--psi", "some 1ms 2s", command=command)
    log = sup.wait_log("memory pressure: PSI trigger 'some 1ms 2s'")
    assert "PSI trigger armed on " in log
    assert "detection: cgroup-v1-eventfd+psi+poll 100ms" in log \
        or "detection: cgroup-v2-events+psi+poll 100ms" in log
    assert "restart (" not in log
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
