"""Per-process facts other than memory: `/proc/PID/stat`, caught signals, environment, cwd.

`parse_stat` is the one parser of `/proc/PID/stat`: comm (field 2) may hold spaces and ')',
so the fields after it are found from the LAST ')'.
"""

from __future__ import annotations

import os
from pathlib import Path

from memwarden.errors import NoSuchProcessError, ReaderError
from memwarden.readers.proc import PROC_ROOT, read_file_bytes, translate_os_error
from memwarden.record import record


@record
class ProcStat:
    state: str  # R, S, D, Z, X, T ...
    ppid: int
    pgrp: int
    session: int
    utime_ticks: int  # user CPU time, in clock ticks (os.sysconf("SC_CLK_TCK") per second)
    stime_ticks: int  # system CPU time, in clock ticks
    num_threads: int
    start_ticks: int  # start time after boot, in clock ticks

    @property
    def exited(self) -> bool:
        """A zombie (exited, not reaped) or dead task: no longer runs."""
        return self.state in ("Z", "X")


def parse_stat(raw: bytes) -> ProcStat | None:
    """None when raw is not a stat line (truncated, no comm, non-numeric fields)."""
    close = raw.rfind(b")")
    if close < 0:
        return None
    # After "comm) ": state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15) ...
    # num_threads(20) ... starttime(22): index = field number - 3.
    fields = raw[close + 2 :].split()
    if len(fields) < 20:
        return None
    try:
        return ProcStat(
            state=fields[0].decode("ascii", "replace"),
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            session=int(fields[3]),
            utime_ticks=int(fields[11]),
            stime_ticks=int(fields[12]),
            num_threads=int(fields[17]),
            start_ticks=int(fields[19]),
        )
    except ValueError:
        return None


def read_stat(pid: int, proc_root: Path = PROC_ROOT) -> ProcStat:
    """Raise NoSuchProcessError when pid is gone, ProcessAccessError when unreadable,
    ReaderError when the file does not parse."""
    path = f"{proc_root}/{pid}/stat"
    try:
        raw = read_file_bytes(path)
    except OSError as err:
        raise translate_os_error(err, pid, path) from err
    stat = parse_stat(raw)
    if stat is None:
        raise ReaderError(path, f"malformed stat for pid {pid}: {raw[:120]!r}")
    return stat


def read_stat_or_none(pid: int, proc_root: Path = PROC_ROOT) -> ProcStat | None:
    """For scans over many pids: a pid that vanished, is unreadable or garbled gives None."""
    try:
        raw = read_file_bytes(f"{proc_root}/{pid}/stat")
    except OSError:
        return None
    return parse_stat(raw)


def list_pids(proc_root: Path = PROC_ROOT) -> list[int]:
    """Every pid in proc_root; [] when it cannot be listed."""
    try:
        return [int(name) for name in os.listdir(proc_root) if name.isdigit()]
    except OSError:
        return []


# The initial PID namespace's inode number: fixed by the kernel (PROC_PID_INIT_INO).
INITIAL_PID_NAMESPACE = 0xEFFFFFFC


def pid_namespace_id(pid: int | str = "self", proc_root: Path = PROC_ROOT) -> int | None:
    """The inode of pid's PID namespace (INITIAL_PID_NAMESPACE on the host); None if unknown.

    Pids are only comparable within one namespace: a pid seen from another one may name an
    unrelated process, or none.
    """
    try:
        return os.stat(proc_root / str(pid) / "ns" / "pid").st_ino
    except OSError:
        return None


def read_caught_signals(pid: int, proc_root: Path = PROC_ROOT) -> int | None:
    """The SigCgt mask of `/proc/PID/status` (bit signum-1 set: a handler is installed).

    Raise NoSuchProcessError when pid is gone; None when unreadable or absent.
    """
    path = f"{proc_root}/{pid}/status"
    try:
        raw = read_file_bytes(path)
    except OSError as err:
        translated = translate_os_error(err, pid, path)
        if isinstance(translated, NoSuchProcessError):
            raise translated from err
        return None
    for line in raw.splitlines():
        if line.startswith(b"SigCgt:"):
            try:
                return int(line.split()[1], 16)
            except (IndexError, ValueError):
                return None
    return None


def read_environ(pid: int, proc_root: Path = PROC_ROOT) -> dict[str, str]:
    """The environment pid started with. Raise the translated OSError when unreadable."""
    path = f"{proc_root}/{pid}/environ"
    try:
        raw = read_file_bytes(path)
    except OSError as err:
        raise translate_os_error(err, pid, path) from err
    environ: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            environ[os.fsdecode(key)] = os.fsdecode(value)
    return environ


def read_cwd(pid: int, proc_root: Path = PROC_ROOT) -> Path:
    """pid's working directory. Raise the translated OSError when unreadable."""
    path = f"{proc_root}/{pid}/cwd"
    try:
        return Path(os.readlink(path))
    except OSError as err:
        raise translate_os_error(err, pid, path) from err


def read_maps(pid: int, proc_root: Path = PROC_ROOT) -> list[str] | None:
    """The lines of `/proc/PID/maps`; None when unreadable or gone."""
    try:
        return read_file_bytes(f"{proc_root}/{pid}/maps").decode("utf-8", "replace").splitlines()
    except OSError:
        return None
