"""`memwarden snapshot PID` and `memwarden diff A B`."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import click

from memwarden.cli.common import fail, usage_errors
from memwarden.errors import MemwardenError, NoSuchProcessError


def _catches(pid: int, signum: int) -> bool | None:
    """Whether pid has a handler for signum; None: unknown."""
    from memwarden.readers.procinfo import read_caught_signals

    mask = read_caught_signals(pid)  # raises NoSuchProcessError for a missing pid
    return None if mask is None else bool(mask >> (signum - 1) & 1)


def _target_directory(pid: int) -> Path:
    """Where the target writes: its MEMWARDEN_LEAK_SNAPSHOT_DIR (or older
    MEMWARDEN_SNAPSHOT_DIR), else its working directory."""
    from memwarden.leak.snapshot import dir_env_names
    from memwarden.readers.procinfo import read_cwd, read_environ

    try:
        environ = read_environ(pid)
        directory = Path(next((environ[n] for n in dir_env_names()
                               if environ.get(n, "").strip()), "."))
        return directory if directory.is_absolute() else read_cwd(pid) / directory
    except MemwardenError as err:
        raise click.UsageError(
            f"cannot find where pid {pid} writes snapshots ({err}); pass --dir") from err


@click.command()
@click.argument("pid", type=int)
@click.option("--signal", "signal_name", default=None, metavar="SIGNAL",
              help="Signal to send.  [default: the snapshot_signal setting, SIGUSR2]")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="DIR", help="Directory the process writes snapshots to.  "
              "[default: its $MEMWARDEN_LEAK_SNAPSHOT_DIR, else its working directory]")
@click.option("--timeout", "timeout", default="30s", show_default=True, metavar="DURATION",
              help="How long to wait for the snapshot file.")
@usage_errors
def snapshot(pid: int, signal_name: str | None, directory: Path | None, timeout: str) -> None:
    """Ask process PID (running memwarden's guardian) for a heap snapshot; print its path."""
    from memwarden.leak.snapshot import FILE_PREFIX
    from memwarden.leak.trigger import configured_signal, parse_signal
    from memwarden.units import parse_duration

    timeout_s = parse_duration(timeout, key="timeout")
    signum = configured_signal() if signal_name is None else parse_signal(signal_name,
                                                                           key="--signal")
    if signum is None:
        fail("the snapshot signal is turned off (snapshot_signal = off); pass --signal")
        return
    if pid <= 0:
        raise NoSuchProcessError(pid)
    if _catches(pid, signum) is False:
        # The default action of SIGUSR2 is to terminate: never send it to a process that
        # does not handle it.
        fail(f"pid {pid} does not handle signal {signum}: no memwarden guardian with the "
             "snapshot signal runs there (start it with memwarden.start())")
    where = directory or _target_directory(pid)
    pattern = f"{FILE_PREFIX}{pid}-*.json"
    before = set(where.glob(pattern))
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise NoSuchProcessError(pid) from None
    except PermissionError:
        fail(f"not allowed to signal pid {pid}")
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while time.monotonic() < deadline:
        fresh = sorted(set(where.glob(pattern)) - before)
        if fresh:
            click.echo(str(fresh[-1]))
            return
        pause.wait(0.05)
    fail(f"no snapshot from pid {pid} in {where} within {timeout_s:g}s "
         "(is memwarden's guardian running there with the snapshot signal?)")


@click.command()
@click.argument("a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1), metavar="N",
              help="Growers to show per kind (owners, types, sites).")
@click.option("--json", "as_json", is_flag=True, help="Print the growers as JSON.")
@usage_errors
def diff(a: Path, b: Path, top: int, as_json: bool) -> None:
    """Compare two snapshots: top growers first (owner paths, then types, then sites)."""
    from memwarden.leak.diff import diff_snapshots, format_growers
    from memwarden.leak.snapshot import read_snapshot

    documents = []
    for path in (a, b):
        try:
            documents.append(read_snapshot(path))
        except FileNotFoundError:
            fail(f"{path}: no such file")
        except (OSError, ValueError) as err:
            fail(str(err))
    growers = diff_snapshots(documents[0], documents[1], top=top)
    if as_json:
        click.echo(json.dumps({"a": str(a), "b": str(b),
                               "over_s": documents[1]["time"] - documents[0]["time"],
                               "growers": [g.to_json() for g in growers]}, indent=2))
        return
    click.echo(format_growers(growers))
