"""Every bad value is refused before anything starts: exit 2, one line naming the key as the
user spelled it and the value given, never a traceback.

Each case is a real `python -m memwarden` process: `run` with a program that would leave a
marker file, or `config` (which checks every section) under an environment, a memwarden.toml
or a pyproject.toml. The processes run a few at a time; each case is asserted on its own.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.config.bad_input_cases import CASES, Case
from tests.helpers import child_env, memwarden_cmd

Outcome = tuple[subprocess.CompletedProcess[str], Path]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in child_env().items() if not k.startswith("MEMWARDEN_")}
    return {**env, **extra}


def _run_case(case: Case, root: Path) -> Outcome:
    name, where, given, _key, _value = case
    workdir = root / name
    workdir.mkdir()
    marker = workdir / "started"
    env = _clean_env()
    if where == "run":
        args = ["run", "--control-socket", str(workdir / "control.sock"), "--autorestart",
                "never", *given, "--", "sh", "-c", f"touch {marker}"]
    elif where == "env":
        args, env = ["config"], {**env, **given}
    elif where in ("toml", "pyproject"):
        file = "memwarden.toml" if where == "toml" else "pyproject.toml"
        (workdir / file).write_text(given + "\n")
        args = ["config"]
    else:
        args = list(given)
    result = subprocess.run(memwarden_cmd(*args), cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=60)
    return result, marker


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("bad-input")
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = pool.map(lambda case: _run_case(case, root), CASES)
        return {case[0]: outcome for case, outcome in zip(CASES, results, strict=True)}


def test_the_table_is_large_and_covers_every_source() -> None:
    assert len(CASES) >= 100
    assert len({case[0] for case in CASES}) == len(CASES)
    assert {case[1] for case in CASES} == {"run", "env", "toml", "pyproject", "cmd"}


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_value_is_refused_in_one_line(case: Case, outcomes: dict[str, Outcome]) -> None:
    name, _where, _given, key, value = case
    result, marker = outcomes[name]
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"memwarden: error: {key}={_shown(value)}: "), lines[0]
    assert not marker.exists()  # the program never started
    assert result.stdout == ""  # nor did `memwarden config` print a partial answer


def _shown(value: Any) -> str:
    return repr(value)
