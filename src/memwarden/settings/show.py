"""The effective settings with the source of each: `memwarden config` and `run --print-config`.

A row is (table, key, value as a user would write it, source, where): the source is default,
file, env or flag, and `where` names the file key, variable or flag it came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from memwarden.settings import LoadedConfig
from memwarden.settings.load import DEFAULT, Resolved
from memwarden.settings.load import resolve as resolve_layers
from memwarden.settings.registry import SECTIONS

Row = dict[str, str]


def rows_of(table: str, resolved: Resolved) -> list[Row]:
    rows = []
    for key, value in resolved.values.items():
        source, where, _raw = resolved.origins[key]
        rows.append({"table": table, "key": key, "value": resolved.settings[key].show(value),
                     "source": source, "from": "" if source == DEFAULT else where})
    return rows


def program_rows(loaded: LoadedConfig, flags: Mapping[str, Any] | None = None,
                 command: tuple[str, ...] = ()) -> list[Row]:
    """Each program's settings (or, without any, the [supervisor] defaults), then the
    supervisor's own: the layers load_supervisor_config resolves."""
    from memwarden.supervisor.config import SupervisorLayers

    layers = SupervisorLayers(loaded.file, loaded.environ, flags or {}, command)
    rows: list[Row] = []
    for where, each in layers.programs():
        rows.extend(rows_of(where, resolve_layers("program", each)))
    if not rows:
        rows.extend(row for row in rows_of("supervisor", resolve_layers("program",
                                                                        layers.defaults()))
                    if row["key"] not in ("name", "command"))
    return rows + rows_of("supervisor", resolve_layers("supervisor", layers.own))


def effective_rows(loaded: LoadedConfig) -> list[Row]:
    """Every setting: the guardian's, the programs' and supervisor's, then each table."""
    rows = rows_of("", loaded.resolve("guard")) + program_rows(loaded)
    for name in SECTIONS:
        if name not in ("guard", "program", "supervisor"):
            rows += rows_of(name, loaded.resolve(name))
    return rows


# Variables memwarden sets or reads for itself, not settings.
INTERNAL_ENV = frozenset({"MEMWARDEN_CONFIG", "MEMWARDEN_SUPERVISED",
                          "MEMWARDEN_SUPERVISOR_NO_EXEC", "MEMWARDEN_SUPERVISOR_PAYLOAD",
                          "MEMWARDEN_LISTEN_SOURCE_FDS"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`MEMWARDEN_LIMT (did you mean MEMWARDEN_LIMIT?)` for each variable no setting reads."""
    import difflib

    from memwarden.settings.registry import all_settings

    known = {n for s in all_settings() for n in (s.env, *s.aliases) if n} | INTERNAL_ENV
    notes = []
    for name in sorted(environ):
        if name.startswith("MEMWARDEN_") and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            notes.append(name + (f" (did you mean {close[0]}?)" if close else ""))
    return notes


def render_text(rows: list[Row], path: str | None, unknown: list[str] | None = None) -> str:
    lines = [f"# config file: {path or 'none found'}"]
    lines += [f"# not a setting, ignored: {note}" for note in unknown or []]
    table = None
    width = max(len(r["key"]) + len(r["value"]) for r in rows) + 4
    for row in rows:
        if row["table"] != table:
            table = row["table"]
            lines.append(f"\n[{table}]" if table else "")
        text = f"{row['key']} = {row['value']}"
        origin = row["source"] + (f" {row['from']}" if row["from"] else "")
        lines.append(f"{text.ljust(width)}# {origin}")
    return "\n".join(line for line in lines if line != "" or len(lines) > 1)


def render_json(rows: list[Row], path: str | None, unknown: list[str] | None = None) -> str:
    return json.dumps({"config_file": path, "settings": rows,
                       "unknown_variables": unknown or []}, indent=2)


def print_run_config(options: Mapping[str, Any], command: tuple[str, ...],
                     table: dict[str, Any]) -> None:
    """`memwarden run --print-config`: the programs' and supervisor's settings only."""
    import os

    from memwarden.settings.files import ConfigFile

    loaded = LoadedConfig(ConfigFile(table), os.environ)
    print(render_text(program_rows(loaded, options, command), None))
