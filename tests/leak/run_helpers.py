"""`memwarden run` over a config of programs, its stderr in a file, for the leak tests."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import child_env, memwarden_cmd


@dataclass
class Supervised:
    proc: subprocess.Popen[bytes]
    err_path: Path

    @property
    def log(self) -> str:
        return self.err_path.read_text()


def program_table(name: str, argv: list[str], keys: str = "") -> str:
    """One `[[program]]` table; keys: more `key = value` lines."""
    command = ", ".join(f'"{arg}"' for arg in argv)
    return f'[[program]]\nname = "{name}"\ncommand = [{command}]\n{keys}'


def supervise_programs(tmp_path: Path, tables: list[str], *, stdout: int = subprocess.DEVNULL,
                       **env: str) -> Supervised:
    """Start `memwarden run --config` with these program tables, in its own process group."""
    config = tmp_path / "memwarden.toml"
    config.write_text("".join(tables))
    err_path = tmp_path / "supervisor.err"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            memwarden_cmd("run", "--config", str(config), "--control-socket",
                          str(tmp_path / "control.sock")),
            stdout=stdout, stderr=err, process_group=0, env=child_env(**env))
    return Supervised(proc, err_path)


def python_argv(path: Path, *args: str) -> list[str]:
    return [sys.executable, str(path), *args]
