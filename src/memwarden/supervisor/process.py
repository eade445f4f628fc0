"""Child processes: spawn in their own process group, tied to the supervisor's life; kill trees.

PR_SET_PDEATHSIG makes the kernel SIGKILL the child when the *thread* that forked it dies, so
children are always forked from the supervisor's main thread (the loop is single-threaded).
The supervisor also becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so a grandchild whose
parent exits is re-parented to the supervisor rather than to init: it stays findable, and
its exit status is reaped by the loop.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memwarden.child import SUPERVISED_ENV
from memwarden.exitcodes import EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_SIGNAL_BASE
from memwarden.readers.proc import PROC_ROOT
from memwarden.readers.procinfo import list_pids, read_stat_or_none
from memwarden.readers.tree import list_descendants

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_NOT_FOUND = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG})

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
    """What another component adds to a spawn (cgroup placement, sockets, watchdog).

    preexec runs in the child after fork, before exec (keep it async-signal-safe-ish: no
    locks, no logging); pass_fds stay open in the child; env is merged into its environment;
    wrap, if given, turns the command into the one to exec (socket hand-off puts its exec shim
    in front: LISTEN_PID is only known after fork).
    """

    preexec: Callable[[], None] | None = None
    pass_fds: tuple[int, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    wrap: Callable[[list[str]], list[str]] | None = None


@dataclass(slots=True)
class Child:
    """A spawned program: its pid, its output pipes (read ends, non-blocking fds) and, once
    the loop has reaped it, its exit code (negative: killed by that signal)."""

    pid: int
    stdout_fd: int | None
    stderr_fd: int | None
    returncode: int | None = None


def fork_exec(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    fds: tuple[int, int, int],
    pass_fds: Sequence[int] = (),
    preexec: Callable[[], None] | None = None,
) -> int:
    """fork + exec in a new process group with fds as stdin/stdout/stderr; the child's pid.

    Hand-rolled rather than subprocess (~0.8 MB of imports for a long-lived supervisor).
    Raises ExecError when the command cannot be executed, OSError (errno and message from
    the child) when an earlier step fails.
    """
    err_r, err_w = os.pipe()  # close-on-exec: EOF with no data means exec succeeded
    pid = os.fork()
    if pid == 0:  # the child: no return from here
        stage = "setup"
        try:
            os.setpgid(0, 0)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)  # dup2 leaves the target inheritable
            keep = sorted({err_w, *pass_fds})
            low = 3
            for fd in keep:  # close what else was open (fds the supervisor inherited)
                os.closerange(low, fd)
                low = fd + 1
            os.closerange(low, os.sysconf("SC_OPEN_MAX"))
            for fd in pass_fds:
                os.set_inheritable(fd, True)
            # Python ignores SIGPIPE and SIGXFSZ; exec keeps ignored signals ignored.
            for signum in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            if preexec is not None:
                preexec()
            if cwd is not None:
                os.chdir(cwd)
            stage = "exec"
            os.execvpe(argv[0], list(argv), dict(env))
        except BaseException as err:
            code = err.errno if isinstance(err, OSError) and err.errno else 0
            if stage == "exec":
                why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                message = f"{why}: {argv[0]!r}"
            elif isinstance(err, OSError) and err.filename is not None:
                # joining its cgroup, chdir...: name the file that failed, not the command
                message = f"{err.strerror}: {err.filename!r} (before exec)"
            else:
                message = f"{err} (before exec)"
            with contextlib.suppress(OSError):
                os.write(err_w, f"{stage}\0{code}\0{message}".encode())
        finally:
            os._exit(127)
    os.close(err_w)
    report = b""
    while chunk := os.read(err_r, 4096):
        report += chunk
    os.close(err_r)
    if report:
        _wait_ignoring_signals(pid)
        failed_stage, _, rest = report.decode(errors="replace").partition("\0")
        errno_text, _, message = rest.partition("\0")
        code = int(errno_text) if errno_text.isdigit() else 0
        raise (ExecError if failed_stage == "exec" else OSError)(code, message)
    return pid


class ExecError(OSError):
    """The command itself cannot be executed (missing, not executable): retrying is futile."""

    @property
    def exit_status(self) -> int:
        """As a shell reports it: 127 when the command is not found, else 126."""
        return EXIT_NOT_FOUND if self.errno in _NOT_FOUND else EXIT_CANNOT_EXECUTE


def _wait_ignoring_signals(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # a SIGCHLD-driven reap got it first
        os.waitpid(pid, 0)


def exit_status(returncode: int) -> int:
    """A shell's exit status for a child's return code: 128+N when killed by signal N."""
    return EXIT_SIGNAL_BASE - returncode if returncode < 0 else returncode


def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    hooks: Sequence[SpawnHook] = (),
) -> Child:
    """Start command in a new process group, stdin /dev/null, stdout/stderr piped
    (non-blocking read ends), with PR_SET_PDEATHSIG. The loop reaps it (os.waitpid)."""
    child_env = dict(env)
    pass_fds: list[int] = []
    for hook in hooks:
        child_env.update(hook.env)
        pass_fds.extend(hook.pass_fds)
    child_env[SUPERVISED_ENV] = "1"
    argv = list(command)
    for hook in hooks:
        if hook.wrap is not None:
            argv = hook.wrap(argv)
    parent_pid = os.getpid()
    prctl = _libc_prctl()

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)  # the supervisor died before prctl took effect: do not run orphaned
        for hook in hooks:
            if hook.preexec is not None:
                hook.preexec()

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        pid = fork_exec(argv, env=child_env, cwd=cwd, fds=(null, out_w, err_w),
                        pass_fds=pass_fds, preexec=preexec)
    except OSError:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        for fd in (null, out_w, err_w):
            os.close(fd)
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
    return Child(pid, out_r, err_r)


def process_group_members(pgid: int, proc_root: Path = PROC_ROOT) -> list[int]:
    """Pids whose process group is pgid (one scan of /proc/*/stat)."""
    members = []
    for pid in list_pids(proc_root):
        stat = read_stat_or_none(pid, proc_root)
        if stat is not None and stat.pgrp == pgid:
            members.append(pid)
    return members


def collect_tree(pid: int, pgid: int | None, known: set[int]) -> set[int]:
    """Everything that belongs to a program: descendants of pid, its process group, and pids
    seen in its tree before that still exist (a grandchild that called setsid and whose
    parent died is a child of ours now, no longer a descendant of pid)."""
    pids = {pid, *list_descendants(pid)}
    if pgid is not None and group_exists(pgid):  # an empty group needs no /proc scan
        pids.update(process_group_members(pgid))
    own = os.getpid()
    # Only pids re-parented to us (we are a subreaper): a bare number may have been reused.
    pids.update(p for p in known if _parent(p) == own)
    for p in list(pids):
        pids.update(list_descendants(p))
    pids.discard(os.getpid())
    return pids


def _parent(pid: int, proc_root: Path = PROC_ROOT) -> int | None:
    stat = read_stat_or_none(pid, proc_root)
    return stat.ppid if stat is not None else None


def pid_exists(pid: int) -> bool:
    """Whether pid names a process (a zombie included); another user's process counts."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_exists(pgid: int) -> bool:
    """Whether any process (a zombie included) is in process group pgid: the kernel's
    answer, atomic, where a /proc scan can miss a process that forks and exits meanwhile."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def living(pids: set[int], proc_root: Path = PROC_ROOT) -> set[int]:
    """The pids that still run: gone and zombie (exited, not yet reaped) ones left out."""
    alive = set()
    for pid in pids:
        stat = read_stat_or_none(pid, proc_root)
        if stat is not None and not stat.exited:
            alive.add(pid)
    return alive
