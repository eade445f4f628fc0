"""One process from /proc: fixture files captured on this machine, then the real thing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memwarden.errors import NoSuchProcessError, ProcessAccessError
from memwarden.readers.proc import (
    PAGE_SIZE_BYTES,
    StatmReader,
    read_process_detail,
    read_process_memory,
)

FIXTURE_PROC = Path(__file__).resolve().parent.parent / "fixtures" / "proc"


def _statm_pages(pid: int, proc_root: Path) -> list[int]:
    return [int(x) for x in (proc_root / str(pid) / "statm").read_text().split()]


def test_fixture_process_figures_are_pages_times_page_size() -> None:
    pages = _statm_pages(100, FIXTURE_PROC)
    memory = read_process_memory(100, FIXTURE_PROC)
    assert memory.vms_bytes == pages[0] * PAGE_SIZE_BYTES
    assert memory.rss_bytes == pages[1] * PAGE_SIZE_BYTES
    assert memory.shared_bytes == pages[2] * PAGE_SIZE_BYTES
    assert memory.swap_bytes == 0
    assert memory.threads == 1


def test_fixture_swap_is_kib_times_1024() -> None:
    memory = read_process_memory(101, FIXTURE_PROC)
    assert memory.swap_bytes == 128 * 1024
    assert memory.threads == 4


def test_kernel_thread_has_no_swap_line_and_no_rollup() -> None:
    memory = read_process_memory(105, FIXTURE_PROC)
    assert (memory.rss_bytes, memory.swap_bytes, memory.threads) == (0, None, 1)
    assert read_process_detail(105, FIXTURE_PROC) is None


def test_vanished_and_missing_pids_raise_no_such_process() -> None:
    with pytest.raises(NoSuchProcessError, match="104"):
        read_process_memory(104, FIXTURE_PROC)  # stat was there, statm no longer
    with pytest.raises(NoSuchProcessError, match="99999"):
        read_process_memory(99999, FIXTURE_PROC)
    assert read_process_detail(99999, FIXTURE_PROC) is None


def test_fixture_rollup_uss_is_private_clean_plus_dirty() -> None:
    detail = read_process_detail(100, FIXTURE_PROC)
    assert detail is not None
    fields = {}
    for line in (FIXTURE_PROC / "100" / "smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":")
        fields[key] = int(value.split()[0]) * 1024
    assert detail.pss_bytes == fields["Pss"]
    assert detail.uss_bytes == fields["Private_Clean"] + fields["Private_Dirty"]
    assert detail.swap_pss_bytes == fields["SwapPss"]
    assert detail.anonymous_bytes == fields["Anonymous"]


def test_unreadable_statm_raises_access_error(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    statm = tmp_path / "7" / "statm"
    statm.write_text("1 1 1 0 0 1 0\n")
    statm.chmod(0)
    was_root = os.geteuid() == 0
    if was_root:
        os.seteuid(65534)  # root reads any mode; read as nobody, and switch back right after
    try:
        with pytest.raises(ProcessAccessError, match=f"pid 7: cannot read {statm}"):
            read_process_memory(7, tmp_path)
    finally:
        if was_root:
            os.seteuid(0)


def test_unreadable_status_keeps_rss_and_loses_swap(tmp_path: Path) -> None:
    # A directory where the file should be gives EISDIR: a read error that is not "gone".
    (tmp_path / "7" / "status").mkdir(parents=True)
    (tmp_path / "7" / "statm").write_text("10 5 1 0 0 4 0\n")
    memory = read_process_memory(7, tmp_path)
    assert memory.rss_bytes == 5 * PAGE_SIZE_BYTES
    assert memory.swap_bytes is None and memory.threads is None


def test_real_self_matches_statm_and_status() -> None:
    pid = os.getpid()
    memory = read_process_memory(pid)
    direct = _statm_pages(pid, Path("/proc"))
    # RSS moves a little between two reads of a running interpreter; 1 MiB is plenty.
    assert abs(memory.rss_bytes - direct[1] * PAGE_SIZE_BYTES) < 2**20
    assert memory.vms_bytes > memory.rss_bytes > 0
    assert memory.threads is not None and memory.threads >= 1
    assert memory.swap_bytes is not None


def test_real_detail_pss_is_at_most_rss() -> None:
    detail = read_process_detail(os.getpid())
    assert detail is not None
    rss = read_process_memory(os.getpid()).rss_bytes
    assert 0 < detail.uss_bytes <= detail.pss_bytes <= rss + 2**20


def test_real_reaped_child_raises_and_kept_fd_sees_it_die() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        reader = StatmReader(child.pid)
        # The child is blocked on stdin, its RSS still; 1 MiB covers a late page or two.
        kept_fd_rss = reader.read_rss_bytes()
        assert abs(kept_fd_rss - read_process_memory(child.pid).rss_bytes) < 2**20
        assert kept_fd_rss > 0
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
    with pytest.raises(NoSuchProcessError, match=str(child.pid)):
        read_process_memory(child.pid)
    # The kept fd belongs to the dead process: ESRCH, even if the number is reused later.
    with pytest.raises(NoSuchProcessError), reader:
        reader.read_rss_bytes()


def test_statm_reader_on_missing_pid_raises() -> None:
    with pytest.raises(NoSuchProcessError):
        StatmReader(99999, FIXTURE_PROC)
    with StatmReader(100, FIXTURE_PROC) as reader:
        assert reader.read_rss_bytes() == read_process_memory(100, FIXTURE_PROC).rss_bytes
    with pytest.raises(ValueError, match="closed"):
        reader.read_rss_bytes()


def test_status_field_first_line_middle_and_missing() -> None:
    from memwarden.readers.proc import status_field

    text = b"MemTotal:  100 kB\nThreads:\t7\nVmSwapX: 1 kB\nVmSwap:\t  2 kB"
    assert status_field(text, b"MemTotal") == 100 * 1024
    assert status_field(text, b"Threads") == 7
    assert status_field(text, b"VmSwap") == 2 * 1024  # last line, no newline; not VmSwapX
    assert status_field(text, b"Missing") is None
    assert status_field(b"Threads:\n", b"Threads") is None
