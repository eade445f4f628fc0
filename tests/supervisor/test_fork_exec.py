"""fork_exec's errors name what failed: the command for exec, the file for a step before it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memwarden.supervisor.process import ExecError, fork_exec


def test_a_step_before_exec_names_its_file_not_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(OSError) as caught:
        fork_exec(["true"], env=dict(os.environ), cwd=str(missing), fds=(0, 1, 2))
    assert not isinstance(caught.value, ExecError)  # retryable: the command itself is fine
    assert str(missing) in str(caught.value) and "(before exec)" in str(caught.value)
    assert "'true'" not in str(caught.value)


def test_a_missing_command_is_an_exec_error_naming_it(tmp_path: Path) -> None:
    command = str(tmp_path / "no-such-program")
    with pytest.raises(ExecError) as caught:
        fork_exec([command], env=dict(os.environ), fds=(0, 1, 2))
    assert caught.value.exit_status == 127 and command in str(caught.value)
