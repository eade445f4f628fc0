"""Child processes: spawn in their own process group, tied to the supervisor's life; kill trees.

PR_SET_PDEATHSIG makes the kernel SIGKILL the child when the *thread* that forked it dies, so
children are always forked from the supervisor's main thread (the loop is single-threaded).
The supervisor also becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so a grandchild whose
parent exits is re-parented to the supervisor rather than to init: it stays findable, and
its exit status is reaped by the loop.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from memwarden.readers.tree import list_descendants

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
SUPERVISED_ENV = "MEMWARDEN_SUPERVISED"

_prctl: Callable[..., int] | None = None


def _libc_prctl() -> Callable[..., int] | None:
    global _prctl
    if _prctl is None:
        try:
            # CDLL(None): symbols already loaded (libc's); ctypes.util costs ~1 MB of imports.
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):  # not Linux/glibc-like: no prctl
            return None
    return _prctl


def set_child_subreaper() -> bool:
    prctl = _libc_prctl()
    return prctl is not None and prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


@dataclass(frozen=True, slots=True)
class SpawnHook:
    """What another component adds to a spawn (issue 4: cgroup placement, sockets, watchdog).

    preexec runs in the child after fork, before exec (keep it async-signal-safe-ish: no
    locks, no logging); pass_fds stay open in the child; env is merged into its environment.
    """

    preexec: Callable[[], None] | None = None
    pass_fds: tuple[int, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def _make_preexec(parent_pid: int, hooks: Sequence[SpawnHook]) -> Callable[[], None]:
    prctl = _libc_prctl()

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)  # the supervisor died before prctl took effect: do not run orphaned
        # The supervisor may block signals or ignore SIGPIPE (Python does); a child starts clean.
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        for hook in hooks:
            if hook.preexec is not None:
                hook.preexec()

    return preexec


def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    hooks: Sequence[SpawnHook] = (),
) -> subprocess.Popen[bytes]:
    """Start command in a new process group with stdout/stderr piped (non-blocking reads).

    The caller reaps it with os.waitpid and sets Popen.returncode; never Popen.wait().
    Raises OSError when the command cannot be executed.
    """
    child_env = dict(env)
    pass_fds: list[int] = []
    for hook in hooks:
        child_env.update(hook.env)
        pass_fds.extend(hook.pass_fds)
    child_env[SUPERVISED_ENV] = "1"
    child = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env,
        cwd=cwd,
        process_group=0,
        pass_fds=tuple(pass_fds),
        preexec_fn=_make_preexec(os.getpid(), hooks),
    )
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            os.set_blocking(pipe.fileno(), False)
    return child


def process_group_members(pgid: int) -> list[int]:
    """Pids whose process group is pgid (one scan of /proc/*/stat)."""
    from memwarden.readers.proc import PROC_ROOT, read_file_bytes

    members = []
    for name in os.listdir(PROC_ROOT):
        if not name.isdigit():
            continue
        try:
            raw = read_file_bytes(f"{PROC_ROOT}/{name}/stat")
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split(maxsplit=4)  # state ppid pgrp ...
        if len(fields) >= 3 and fields[2] == str(pgid).encode():
            members.append(int(name))
    return members


def collect_tree(pid: int, pgid: int | None, known: set[int]) -> set[int]:
    """Everything that belongs to a program: descendants of pid, its process group, and pids
    seen in its tree before that still exist (a grandchild that called setsid and whose
    parent died is a child of ours now, no longer a descendant of pid)."""
    pids = {pid, *list_descendants(pid)}
    if pgid is not None:
        pids.update(process_group_members(pgid))
    own = os.getpid()
    # Only pids re-parented to us (we are a subreaper): a bare number may have been reused.
    pids.update(p for p in known if _parent(p) == own)
    for p in list(pids):
        pids.update(list_descendants(p))
    pids.discard(os.getpid())
    return pids


def _parent(pid: int) -> int | None:
    from memwarden.readers.proc import PROC_ROOT, read_file_bytes
    from memwarden.readers.tree import parse_stat_ppid

    try:
        return parse_stat_ppid(read_file_bytes(f"{PROC_ROOT}/{pid}/stat"))
    except OSError:
        return None


def signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_all(pids: set[int]) -> int:
    """SIGKILL each pid; how many were still there to kill."""
    killed = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            continue
    return killed


def living(pids: set[int]) -> set[int]:
    """The pids that still run: gone and zombie (exited, not yet reaped) ones left out."""
    from memwarden.readers.proc import PROC_ROOT, read_file_bytes

    alive = set()
    for pid in pids:
        try:
            raw = read_file_bytes(f"{PROC_ROOT}/{pid}/stat")
        except OSError:
            continue
        state = raw[raw.rfind(b")") + 2 : raw.rfind(b")") + 3]
        if state not in (b"Z", b"X"):
            alive.add(pid)
    return alive
