"""Process trees: a fixture /proc (no children files: the stat-scan path) and a real tree."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from memwarden.errors import NoSuchProcessError
from memwarden.readers.proc import PAGE_SIZE_BYTES, read_process_memory
from memwarden.readers.procinfo import parse_stat
from memwarden.readers.tree import (
    has_children_files,
    list_descendants,
    read_tree_memory,
)

FIXTURE_PROC = Path(__file__).resolve().parent.parent / "fixtures" / "proc"


def test_stat_parse_survives_parens_and_spaces_in_comm() -> None:
    text = (FIXTURE_PROC / "101" / "stat").read_bytes()
    assert b"(a) b (c) 1 2)" in text
    stat = parse_stat(text)
    assert stat is not None and (stat.ppid, stat.pgrp, stat.state) == (100, 5762, "S")
    assert parse_stat(b"garbage without parens") is None


def test_fixture_descendants_breadth_first_without_children_files() -> None:
    assert not has_children_files(FIXTURE_PROC)
    # 104 is listed (it was in the scan) though its files are gone; 106 is a zombie grandchild.
    assert list_descendants(100, FIXTURE_PROC) == [101, 104, 102, 106]
    assert list_descendants(103, FIXTURE_PROC) == []
    assert list_descendants(99999, FIXTURE_PROC) == []


def test_fixture_tree_skips_the_vanished_child() -> None:
    tree = read_tree_memory(100, FIXTURE_PROC)
    assert tree.pids == (100, 101, 102, 106)
    expected_rss = (
        read_process_memory(100, FIXTURE_PROC).rss_bytes + (1000 + 25600) * PAGE_SIZE_BYTES
    )
    assert tree.rss_bytes == expected_rss
    assert tree.swap_bytes == 128 * 1024  # 101's; the zombie has no VmSwap line


def test_fixture_tree_of_missing_root_raises() -> None:
    with pytest.raises(NoSuchProcessError, match="104"):
        read_tree_memory(104, FIXTURE_PROC)


def test_children_files_path(tmp_path: Path) -> None:
    # Children hang off the thread that forked them: 10's two threads each started one.
    for pid, tids in ((10, {10: "11 ", 12: "13 "}), (11, {11: "14 "}), (13, {13: ""}), (14, {})):
        for tid, children in tids.items():
            task = tmp_path / str(pid) / "task" / str(tid)
            task.mkdir(parents=True)
            (task / "children").write_text(children)
    assert has_children_files(tmp_path)
    assert sorted(list_descendants(10, tmp_path)[:2]) == [11, 13]
    assert list_descendants(10, tmp_path)[2:] == [14]


_PARENT = """
import subprocess, sys
grandchild = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
grandchild.wait()
"""

_GRANDCHILD = """
import os, sys
data = b"\\x01" * (50 * 2**20)
print("ready", os.getpid(), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def real_tree(reaper: list[subprocess.Popen[bytes]]) -> Iterator[tuple[int, int]]:
    """(child pid, grandchild pid): the grandchild holds 50 MiB until stdin closes."""
    from tests.cgroup_helpers import close_pipes, wait_ready

    child = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _GRANDCHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    reaper.append(child)
    try:
        yield child.pid, wait_ready(child)
    finally:
        close_pipes(child)


@pytest.mark.parametrize("use_children_files", [True, False])
def test_real_tree_includes_the_grandchild(
    real_tree: tuple[int, int], use_children_files: bool
) -> None:
    child_pid, grandchild_pid = real_tree
    if use_children_files and not has_children_files():
        pytest.skip("kernel without CONFIG_PROC_CHILDREN")
    found = list_descendants(child_pid, use_children_files=use_children_files)
    assert found == [grandchild_pid]


def test_real_tree_rss_counts_the_grandchilds_50_mib(real_tree: tuple[int, int]) -> None:
    child_pid, grandchild_pid = real_tree
    tree = read_tree_memory(child_pid)
    assert tree.pids == (child_pid, grandchild_pid)
    grandchild = tree.processes[1]
    assert grandchild.rss_bytes >= 50 * 2**20
    # Both processes are blocked, so psutil's figures (read just after) agree within 5%.
    baseline = sum(psutil.Process(pid).memory_info().rss for pid in (child_pid, grandchild_pid))
    assert abs(tree.rss_bytes - baseline) <= 0.05 * baseline
    assert tree.rss_bytes == sum(p.rss_bytes for p in tree.processes)
