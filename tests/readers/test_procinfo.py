"""`/proc/PID/stat` and other per-process facts: fixtures, hostile input, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memwarden.errors import NoSuchProcessError, ReaderError
from memwarden.readers.procinfo import (
    list_pids,
    parse_stat,
    read_caught_signals,
    read_cwd,
    read_environ,
    read_stat,
    read_stat_or_none,
)

FIXTURE_PROC = Path(__file__).resolve().parent.parent / "fixtures" / "proc"


def test_fixture_stat_fields_after_a_comm_full_of_parens_and_spaces() -> None:
    # comm "x) S 9 (y) R 4" imitates the fields that follow it: only the LAST ')' ends it.
    stat = read_stat(107, FIXTURE_PROC)
    assert (stat.state, stat.ppid, stat.pgrp, stat.session) == ("T", 1, 7, 7)
    assert (stat.utime_ticks, stat.stime_ticks) == (250, 40)
    assert (stat.num_threads, stat.start_ticks) == (3, 99999)
    assert not stat.exited


def test_fixture_zombie_is_exited_and_kernel_thread_parses() -> None:
    assert read_stat(106, FIXTURE_PROC).exited
    kworker = read_stat(105, FIXTURE_PROC)
    assert kworker.state == "I" and kworker.ppid == 2


@pytest.mark.parametrize("raw", [
    b"",
    b"garbage without parens",
    b"1 (sh) S 1 1",  # truncated
    b"1 (sh)",
    b"1 (sh) S x 1 1 0 -1 4194304 1 0 0 0 1 1 0 0 20 0 1 0 5 1",  # ppid not a number
    b"1 (sh) S 1 1 1 0 -1 4194304 1 0 0 0 1 1 0 0 20 0 " + b"9" * 400,  # too short anyway
])
def test_hostile_stat_lines_give_none(raw: bytes) -> None:
    assert parse_stat(raw) is None


def test_huge_numbers_parse_as_ints_without_overflow() -> None:
    big = b"9" * 400
    raw = b"1 (sh) S " + b" ".join([big] * 20)
    stat = parse_stat(raw)
    assert stat is not None and stat.ppid == int(big)


def test_missing_and_garbled_files(tmp_path: Path) -> None:
    with pytest.raises(NoSuchProcessError, match="99999"):
        read_stat(99999, FIXTURE_PROC)
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "stat").write_bytes(b"5 (no fields)")
    with pytest.raises(ReaderError, match="malformed stat"):
        read_stat(5, tmp_path)
    assert read_stat_or_none(5, tmp_path) is None
    assert read_stat_or_none(99999, FIXTURE_PROC) is None
    assert list_pids(tmp_path / "missing") == []
    assert sorted(list_pids(FIXTURE_PROC)) == [100, 101, 102, 103, 104, 105, 106, 107]


def test_fixture_caught_signals_and_environment() -> None:
    mask = read_caught_signals(107, FIXTURE_PROC)
    assert mask is not None
    assert mask >> (signal.SIGINT - 1) & 1 and mask >> (signal.SIGTERM - 1) & 1
    assert not mask >> (signal.SIGHUP - 1) & 1
    environ = read_environ(107, FIXTURE_PROC)
    assert environ == {"A": "1", "MEMWARDEN_SNAPSHOT_DIR": "snaps", "MALLOC_ARENA_MAX": "2"}
    assert read_caught_signals(103, FIXTURE_PROC) is None  # a status without SigCgt
    with pytest.raises(NoSuchProcessError):
        read_caught_signals(99999, FIXTURE_PROC)


def test_real_processes_this_one_and_a_zombie() -> None:
    own = read_stat(os.getpid())
    assert own.ppid == os.getppid() and own.pgrp == os.getpgrp() and own.state in "RS"
    assert read_cwd(os.getpid()) == Path.cwd()
    assert read_environ(os.getpid()).get("PATH") == os.environ.get("PATH")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        zombie = read_stat(child.pid)
        assert zombie.exited and zombie.ppid == os.getpid()
    finally:
        child.wait()
    with pytest.raises(NoSuchProcessError):
        read_stat(child.pid)
