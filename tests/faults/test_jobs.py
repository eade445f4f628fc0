"""Jobs as well as services: `memwarden run` ends with its program's status, like `timeout`
and `tini`; a command that cannot execute ends at once with 127 or 126."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.fault_helpers import assert_nothing_left
from tests.supervisor.sup_helpers import Running


@pytest.mark.parametrize(("args", "command", "status"), [
    (["--max-restarts", "0"], ["true"], 0),
    (["--autorestart", "on-failure"], ["true"], 0),
    (["--autorestart", "never"], ["sh", "-c", "exit 3"], 3),
    (["--autorestart", "on-failure", "--max-restarts", "1"], ["sh", "-c", "exit 4"], 4),
    (["--autorestart", "never"], ["sh", "-c", "kill -KILL $$"], 128 + 9),
    (["--autorestart", "never"], ["sh", "-c", "kill -TERM $$"], 128 + 15),
], ids=["max-restarts-0-true", "on-failure-true", "never-3", "on-failure-errored-4",
        "never-sigkill", "never-sigterm"])
def test_run_exits_with_the_status_of_a_program_that_ended_for_good(
    supervise: Callable[..., Running], args: list[str], command: list[str], status: int,
) -> None:
    sup = supervise("--no-cgroup", *args, command=command)
    assert sup.exit_code() == status
    assert f"exiting with status {status}" in sup.log
    assert_nothing_left(sup)


@pytest.mark.parametrize("autorestart", ["always", "never"])
def test_a_missing_command_exits_127_at_once(
    supervise: Callable[..., Running], tmp_path: Path, autorestart: str,
) -> None:
    sup = supervise("--no-cgroup", "--autorestart", autorestart,
                    command=[str(tmp_path / "no-such-program")])
    assert sup.exit_code() == 127
    lines = [line for line in sup.log.splitlines() if "cannot start" in line]
    assert len(lines) == 1 and "No such file or directory" in lines[0]
    assert "restart (" not in sup.log
    assert_nothing_left(sup)


@pytest.mark.parametrize("autorestart", ["always", "never"])
def test_a_command_that_is_not_executable_exits_126_at_once(
    supervise: Callable[..., Running], tmp_path: Path, autorestart: str,
) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program\n")
    sup = supervise("--no-cgroup", "--autorestart", autorestart, command=[str(plain)])
    assert sup.exit_code() == 126
    lines = [line for line in sup.log.splitlines() if "cannot start" in line]
    assert len(lines) == 1 and "Permission denied" in lines[0]
    assert "restart (" not in sup.log
