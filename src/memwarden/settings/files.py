"""The config file, read once: `memwarden.toml`, or `[tool.memwarden]` of pyproject.toml.

Which file: `--config FILE` / `config_path=`, else $MEMWARDEN_CONFIG, else the first
memwarden.toml or pyproject.toml from the current directory up. Its top level is checked
here: guard keys and section tables only, anything else is refused with a suggestion.
"""

from __future__ import annotations

import os
from pathlib import Path

from memwarden.errors import ConfigError
from memwarden.settings.load import unknown
from memwarden.settings.registry import CONFIG_ENV, SECTIONS
from memwarden.settings.registry import section as section_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

TABLES = tuple(name for name in SECTIONS if name not in ("guard", "program"))


def find_config_file(start: Path | None = None) -> tuple[Path, bool] | None:
    """(`memwarden.toml` or pyproject.toml, is_pyproject) in start or its parents."""
    directory = (start or Path.cwd()).resolve()
    for candidate_dir in (directory, *directory.parents):
        own = candidate_dir / "memwarden.toml"
        if own.is_file():
            return own, False
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file():
            return pyproject, True
    return None


def choose_path(config_path: str | Path | None, environ: Mapping[str, str],
                flag: str = "config_path") -> tuple[Path, bool] | None:
    """The file to read and whether it is a pyproject; a named file must be a readable file."""
    name, given = flag, config_path
    if given is None or str(given) == "":
        name, given = CONFIG_ENV, environ.get(CONFIG_ENV) or None
    if given is None:
        return find_config_file()
    path = Path(given)
    if path.is_dir():
        raise ConfigError(name, str(given), "expected a config file, found a directory")
    if not path.exists():
        raise ConfigError(name, str(given), "no such config file")
    return path, path.name == "pyproject.toml"


def read_table(path: Path, is_pyproject: bool) -> dict[str, Any]:
    import tomllib  # here, not at the top: ~0.6 MB a long-lived supervisor need not carry

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        raise ConfigError("config", str(path), f"cannot read: {err.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError("config", str(path), f"invalid TOML: {err}") from None
    if not is_pyproject:
        return data
    tool = data.get("tool", {})
    table = tool.get("memwarden", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError("tool.memwarden", table, "expected a table ([tool.memwarden])")
    return table


def check_top_level(table: Mapping[str, Any]) -> None:
    guard = section_settings("guard")
    for key, value in table.items():
        if key == "program":
            if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
                raise ConfigError("program", value, "expected [[program]] tables")
        elif key in TABLES:
            if not isinstance(value, dict):
                raise ConfigError(key, value, f"expected a table ([{key}])")
        elif key not in guard:
            raise unknown(key, key, value, [*guard, "program", *TABLES])


class ConfigFile:
    """The checked top-level table of the config file ({} without one) and where it is."""

    __slots__ = ("path", "table")

    def __init__(self, table: dict[str, Any] | None = None, path: Path | None = None) -> None:
        self.table = dict(table or {})
        self.path = path
        check_top_level(self.table)

    def section(self, name: str) -> dict[str, Any]:
        """guard: the top-level keys; otherwise the [name] table."""
        if name == "guard":
            guard = section_settings("guard")
            return {k: v for k, v in self.table.items() if k in guard}
        table = self.table.get(name, {})
        return dict(table) if isinstance(table, dict) else {}

    def programs(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self.table.get("program", [])]


def read_config(config_path: str | Path | None = None,
                environ: Mapping[str, str] | None = None,
                flag: str = "config_path") -> ConfigFile:
    environ = os.environ if environ is None else environ
    found = choose_path(config_path, environ, flag)
    if found is None:
        return ConfigFile()
    return ConfigFile(read_table(*found), found[0])
