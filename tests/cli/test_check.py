"""`memwarden check` against real processes and a real memory cgroup (v2 or v1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cgroup_helpers import (
    inactive_file_key,
    memory_cgroup,
    memory_cgroup_reason,
    spawn_allocator,
    usage_file,
    wait_ready,
)

MIB = 2**20
RunCli = Callable[..., subprocess.CompletedProcess[str]]


def cgroup_stat(group: Path, key: str) -> int:
    for line in (group / "memory.stat").read_text().splitlines():
        name, value = line.split()
        if name == key:
            return int(value)
    raise KeyError(key)


@pytest.mark.cgroup
def test_check_reports_the_limit_and_working_set_of_a_real_300m_cgroup(
    run_cli: RunCli, reaper: list[subprocess.Popen[bytes]]
) -> None:
    reason = memory_cgroup_reason()
    if reason:
        pytest.skip(reason)
    with memory_cgroup(300 * MIB) as group:
        child = spawn_allocator(100 * MIB, cgroup=group)
        reaper.append(child)
        pid = wait_ready(child)
        result = run_cli("check", str(pid), "--json")
        usage = int(usage_file(group).read_text())
        working_set = usage - cgroup_stat(group, inactive_file_key(group))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["limit_bytes"] == 300 * MIB
    assert report["limit_source"] == "cgroup"
    assert report["metric"] == "working_set"
    assert report["cgroup"]["path"] == str(group)
    assert report["cgroup"]["working_set_bytes"] == pytest.approx(working_set, rel=0.05)
    assert report["measured_bytes"] == pytest.approx(working_set, rel=0.05)
    assert report["tree"]["rss_bytes"] >= 100 * MIB
    assert report["headroom_bytes"] == report["limit_bytes"] - report["measured_bytes"]


def test_check_counts_a_grandchild_in_the_tree(
    run_cli: RunCli, reaper: list[subprocess.Popen[bytes]]
) -> None:
    # The parent starts an allocating grandchild sharing its stdout and waits on it.
    parent_code = (
        "import subprocess, sys; "
        "from tests.cgroup_helpers import allocator_command; "
        f"subprocess.run(allocator_command({80 * MIB}), stdin=sys.stdin)"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, start_new_session=True, env=env)
    reaper.append(parent)
    grandchild = wait_ready(parent)
    result = run_cli("check", str(parent.pid), "--json", "--metric", "tree_rss")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    pids = [p["pid"] for p in report["tree"]["processes"]]
    assert pids[0] == parent.pid and grandchild in pids
    assert report["measured_bytes"] == report["tree"]["rss_bytes"] >= 80 * MIB


def test_check_text_without_pid_lists_top_processes(run_cli: RunCli) -> None:
    # Thresholds off: the exit status must not depend on how full this machine is.
    result = run_cli("check", "--limit", "100G", "--warn", "off", "--critical", "off",
                     "--restart", "off")
    assert result.returncode == 0, result.stderr
    assert "top processes by RSS" in result.stdout
    assert "effective limit" in result.stdout
    assert "unavailable sources" in result.stdout


def test_check_recommends_arena_cap_for_many_arenas(run_cli: RunCli, tmp_path: Path,
                                                     reaper: list[subprocess.Popen[bytes]]) -> None:
    # Eight threads that each malloc make glibc create per-thread arenas.
    code = (
        "import ctypes, threading, sys\n"
        "libc = ctypes.CDLL('libc.so.6'); libc.malloc.restype = ctypes.c_void_p\n"
        "hold = []\n"
        "def work():\n"
        "    for _ in range(200): hold.append(libc.malloc(1000))\n"
        "    threading.Event().wait(60)\n"
        "for _ in range(8): threading.Thread(target=work, daemon=True).start()\n"
        "print('ready', flush=True); sys.stdin.read()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, start_new_session=True,
                             env={k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"})
    reaper.append(child)
    assert child.stdout is not None and child.stdout.readline().startswith(b"ready")
    result = run_cli("check", str(child.pid), "--json")
    report = json.loads(result.stdout)
    assert report["glibc_arenas"] >= 4
    assert any("MALLOC_ARENA_MAX=2" in line for line in report["recommendations"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "999999999"], "no process with pid 999999999"),
        (["check", "--limit", "lots"], "limit='lots'"),
        (["monitor", "999999999", "--duration", "1s"], "no process with pid 999999999"),
        (["monitor", "--critical", "120%", "--duration", "1s"], "critical='120%'"),
        (["monitor", "--interval", "soon"], "interval='soon'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_cli: RunCli, args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unknown_config_key_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    config = tmp_path / "memwarden.toml"
    config.write_text('limt = "1G"\n')
    result = run_cli("check", MEMWARDEN_CONFIG=str(config))
    assert result.returncode == 2
    assert "limt='1G': unknown key; did you mean limit?" in result.stderr
