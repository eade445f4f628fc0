"""Shared fixtures: a subprocess environment that imports this checkout's memwarden, and
child-process bookkeeping so no test leaves a process behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.helpers import child_env, memwarden_cmd


@pytest.fixture
def run_cli() -> object:
    def run(*args: str, timeout: float = 60.0, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            memwarden_cmd(*args),
            env=child_env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Append every Popen here; all are killed (with their process groups) and reaped after."""
    children: list[subprocess.Popen[bytes]] = []
    yield children
    for child in children:
        if child.poll() is None:
            try:
                os.killpg(child.pid, 9)
            except (ProcessLookupError, PermissionError):
                child.kill()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        # An unclosed pipe is a ResourceWarning, an error under filterwarnings=error.
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
