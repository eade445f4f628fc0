"""TreeReader (kept fds) against real process trees, and self_rss_bytes across a fork."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.errors import NoSuchProcessError
from memwarden.readers.kept import RELIST_EVERY, ChildrenReader, TreeReader
from memwarden.readers.proc import self_rss_bytes
from memwarden.readers.tree import read_tree_memory

FIXTURE_PROC = Path(__file__).resolve().parent.parent / "fixtures" / "proc"
# A parent that starts one sleeping child per line it reads on stdin ("t": from a new thread),
# printing each child's pid; the children sleep until killed.
PARENT = r"""
import subprocess, sys, threading
kids = []
def spawn():
    kids.append(subprocess.Popen(["sleep", "300"]))
    print(kids[-1].pid, flush=True)
for line in sys.stdin:
    if line.strip() == "t":
        t = threading.Thread(target=lambda: (spawn(), threading.Event().wait()), daemon=True)
        t.start()
    elif line.strip() == "kill":
        kids.pop(0).kill()
        print("killed", flush=True)
    else:
        spawn()
"""


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    yield proc
    subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def _ask(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_same_figures_as_the_one_off_read_and_children_come_and_go(
        parent: subprocess.Popen[str]) -> None:
    first = int(_ask(parent, "s"))
    with TreeReader(parent.pid) as reader:
        tree = reader.read()
        assert tree.pids == (parent.pid, first)
        assert tree.pids == read_tree_memory(parent.pid, with_status=False).pids
        assert all(p.swap_bytes is None and p.threads is None for p in tree.processes)
        second = int(_ask(parent, "s"))
        assert reader.read().pids == (parent.pid, first, second)
        assert _ask(parent, "kill") == "killed"
        pids = reader.read().pids
        # killed but not yet reaped by the parent: a zombie still belongs to the tree
        assert pids in ((parent.pid, first, second), (parent.pid, second))


def test_a_child_forked_from_a_new_thread_is_found(parent: subprocess.Popen[str]) -> None:
    reader = TreeReader(parent.pid)
    assert reader.read().pids == (parent.pid,)
    child = int(_ask(parent, "t"))  # the thread count changed: its children file is read
    assert child in reader.read().pids
    reader.close()


def test_fds_are_kept_between_reads_and_closed_on_close(parent: subprocess.Popen[str]) -> None:
    for _ in range(3):
        _ask(parent, "s")
    before = _open_fds()
    reader = TreeReader(parent.pid)
    reader.read()
    opened = _open_fds()
    assert opened > before
    for _ in range(RELIST_EVERY + 1):  # a forced re-list swaps fds, never adds
        reader.read()
    assert _open_fds() == opened
    reader.close()
    assert _open_fds() == before


def test_root_gone_raises_and_with_status_reads_status() -> None:
    child = subprocess.Popen(["sleep", "300"])
    reader = TreeReader(child.pid, with_status=True)
    tree = reader.read()
    assert tree.processes[0].threads == 1 and tree.swap_bytes is not None
    child.kill()
    child.wait()
    with pytest.raises(NoSuchProcessError):
        reader.read()
    reader.close()
    with pytest.raises(NoSuchProcessError):
        TreeReader(child.pid).read()


def test_fixture_tree_without_children_files_reads_one_off() -> None:
    reader = TreeReader(100, FIXTURE_PROC)
    assert reader.read() == read_tree_memory(100, FIXTURE_PROC, with_status=False)


def test_self_rss_bytes_follows_this_process_across_fork() -> None:
    own = self_rss_bytes()
    assert own is not None and own > 0
    ballast = bytearray(64 * 2**20)  # the parent grows; the child must not report that
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])
    read_r, read_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        del ballast
        import gc

        gc.collect()
        rss = self_rss_bytes()
        own_statm = int(Path(f"/proc/{os.getpid()}/statm").read_text().split()[1])
        os.write(read_w, f"{rss} {own_statm * os.sysconf('SC_PAGE_SIZE')}".encode())
        os._exit(0)
    os.close(read_w)
    child_rss, child_statm = map(int, os.read(read_r, 100).split())
    os.waitpid(pid, 0)
    os.close(read_r)
    parent_rss = self_rss_bytes()
    assert parent_rss is not None
    assert abs(child_rss - child_statm) < 8 * 2**20  # the child's own figure
    assert parent_rss - child_rss > 32 * 2**20  # not the parent's


def test_self_rss_bytes_from_many_threads() -> None:
    results: list[int | None] = []
    threads = [threading.Thread(target=lambda: results.append(self_rss_bytes()))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r is not None and r > 0 for r in results)


def test_a_read_rereads_only_what_changed(parent: subprocess.Popen[str]) -> None:
    first = int(_ask(parent, "s"))
    with TreeReader(parent.pid) as reader:
        def settled() -> bool:  # the child has exec'd sleep, nothing moves any more
            sleeping = next(p for p in reader.read().processes if p.pid == first)
            return sleeping.vms_bytes > 1024 * 1024 and reader.read() is reader.read()

        for _ in range(1000):  # a readiness wait (10 s at most), not a timing
            if settled():
                break
            threading.Event().wait(0.01)
        tree = reader.read()
        idle = reader.read()
        assert idle is tree  # nothing changed: the same figures, nothing parsed again
        sleeper = next(p for p in tree.processes if p.pid == first)
        second = int(_ask(parent, "s"))  # the parent changed (a Popen object): new figures
        grown = reader.read()
        assert grown is not tree and grown.pids[-1] == second
        # the idle child's statm is byte for byte the same: its figures object is kept
        assert next(p for p in grown.processes if p.pid == first) is sleeper


def test_children_reader_follows_children_from_any_thread_and_keeps_its_fds(
        parent: subprocess.Popen[str]) -> None:
    from memwarden.readers.tree import list_children

    before = _open_fds()
    reader = ChildrenReader(parent.pid)
    assert reader.read() == []
    first = int(_ask(parent, "s"))
    assert reader.read() == [first] == list_children(parent.pid)
    opened = _open_fds()
    threaded = int(_ask(parent, "t"))  # a new thread: its children file is found by count
    assert sorted(reader.read()) == sorted([first, threaded]) == sorted(list_children(parent.pid))
    for _ in range(RELIST_EVERY + 1):
        reader.read()
    assert _open_fds() == opened + 1  # the new thread's children file, re-lists swap fds
    assert _ask(parent, "kill") == "killed"  # a zombie until the parent's next spawn
    assert sorted(reader.read()) == sorted(list_children(parent.pid))
    reader.close()
    assert _open_fds() == before


def test_children_reader_of_a_gone_or_fixture_process() -> None:
    from memwarden.readers.tree import list_children

    proc = subprocess.Popen(["true"])
    proc.wait()
    assert ChildrenReader(proc.pid).read() == []
    fixture = ChildrenReader(1, FIXTURE_PROC)  # no children files there: one-off reads
    assert fixture.read() == list_children(1, FIXTURE_PROC) == [100, 103, 107]
    own = ChildrenReader(os.getpid())
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in own.read()
    finally:
        child.kill()
        child.wait()
    assert child.pid not in own.read()
    own.close()
