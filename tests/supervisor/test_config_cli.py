"""Config errors exit 2 naming key and value; TOML programs, budget and defaults."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from memwarden.errors import ConfigError
from memwarden.supervisor.config import load_supervisor_config
from tests.supervisor.sup_helpers import child_env, memwarden_cmd


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(memwarden_cmd("run", "--control-socket", str(cwd / "c.sock"), *args),
                          env=child_env(), capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize(
    ("args", "toml", "expected"),
    [
        (["--limit", "12Q", "--", "true"], None, "limit='12Q'"),
        (["--warn", "150%", "--", "true"], None, "warn='150%'"),
        (["--critical", "abc%", "--", "true"], None, "critical='abc%'"),
        (["--grace", "soon", "--", "true"], None, "grace='soon'"),
        (["--max-restarts", "-1", "--", "true"], None, "--max-restarts='-1'"),
        (["--restart-at", "61 * * * *", "--", "true"], None, "--restart-at='61 * * * *'"),
        ([], '[[program]]\nname = "a"\ncommand = "true"\nbogus = 1\n', "bogus=1"),
        ([], '[[program]]\nname = "a"\n', "command: a program needs a command"),
        ([], "", "command: give a command after --"),
        ([], '[supervisor]\nbudget = "lots"\n[[program]]\ncommand = "true"\n',
         "budget='lots'"),
        ([], '[supervisor]\nnope = true\n[[program]]\ncommand = "true"\n', "supervisor.nope"),
    ],
)
def test_config_errors_exit_2_naming_key_and_value(
    tmp_path: Path, args: list[str], toml: str | None, expected: str
) -> None:
    if toml is not None:
        (tmp_path / "memwarden.toml").write_text(toml)
        args = ["--config", str(tmp_path / "memwarden.toml"), *args]
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one clear line, no traceback


def test_programs_from_toml_with_defaults_budget_and_cli_override() -> None:
    table = {
        "limit": "1G",  # the guardian's own key: allowed at top level, not used here
        "supervisor": {"grace": "3s", "budget": "1G", "restart": "90%", "json": True},
        "program": [
            {"name": "web", "command": "python -m web", "limit": "300M"},
            {"command": ["python", "worker.py"], "max_restarts": 2, "env": {"A": "1"}},
        ],
    }
    config = load_supervisor_config({"interval": "50ms", "grace": None}, table=table)
    web, worker = config.programs
    assert (web.name, web.command, web.grace_s) == ("web", ("python", "-m", "web"), 3.0)
    assert web.memory.limit_bytes == 300 * 2**20 and web.memory.interval_s == 0.05
    assert worker.name == "worker" and worker.max_restarts == 2 and worker.env == (("A", "1"),)
    assert worker.memory.restart is not None and worker.memory.restart.fraction == 0.9
    assert config.budget is not None and config.budget.limit_bytes == 2**30
    assert config.json_logs is True and config.tick_s == 0.05


def test_duplicate_names_and_bad_autorestart() -> None:
    with pytest.raises(ConfigError, match="name='a'"):
        load_supervisor_config({}, table={"program": [{"name": "a", "command": "x"},
                                                      {"name": "a", "command": "y"}]})
    with pytest.raises(ConfigError, match="autorestart='sometimes'"):
        load_supervisor_config({}, ("x",), table={"supervisor": {"autorestart": "sometimes"}})


def test_default_program_names() -> None:
    names = [load_supervisor_config({}, cmd).programs[0].name for cmd in
             (("python3", "app/main.py"), ("python", "-m", "pkg.srv"), ("/usr/bin/node", "x"))]
    assert names == ["main", "pkg.srv", "node"]
