"""Supervisor configuration: frozen dataclasses from the settings registry.

Precedence per program: command-line flags > `MEMWARDEN_SUPERVISOR_<KEY>` > its `[[program]]`
table > the `[supervisor]` table (defaults for every program, plus the supervisor's own keys)
> built-in defaults. Every error is a ConfigError naming the key as given and the bad value;
the CLI turns it into exit status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from memwarden.config import GuardConfig, check_ladder
from memwarden.errors import ConfigError
from memwarden.settings.files import ConfigFile
from memwarden.settings.load import FLAG, Layer, env_layer, file_layer, given_layer, resolve
from memwarden.settings.program_keys import PsiSpec, parse_psi
from memwarden.settings.registry import section as section_settings
from memwarden.supervisor.states import Autorestart

__all__ = [
    "ProgramConfig",
    "PsiSpec",
    "SupervisorConfig",
    "build_program",
    "load_supervisor_config",
    "parse_psi",
]

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from memwarden.settings import LoadedConfig
    from memwarden.settings.load import Resolved
    from memwarden.supervisor.policy.cron import CronSchedule

MEMORY_KEYS = ("limit", "warn", "critical", "restart", "interval", "critical_timeout")


@dataclass(frozen=True, slots=True)
class ProgramConfig:
    name: str
    command: tuple[str, ...]
    cwd: Path | None = None
    env: tuple[tuple[str, str], ...] = ()
    # limit/warn/critical/restart/interval, validated by the guardian's own rules.
    memory: GuardConfig = field(default_factory=lambda: GuardConfig(interval_s=0.1))
    grace_s: float = 10.0
    max_restarts: int = 5
    restart_window_s: float = 3600.0
    max_age_s: float | None = None
    max_age_jitter: float = 0.1  # fraction of max_age taken off at random, so peers spread out
    restart_at: CronSchedule | None = None
    backoff_s: float = 0.1  # first crash-restart delay, doubled per quick crash
    backoff_max_s: float = 15.0
    stable_after_s: float = 30.0  # a run this long resets the backoff
    autorestart: Autorestart = Autorestart.ALWAYS
    log_max_bytes: int = 10 * 1024**2
    log_backups: int = 3
    cgroup: bool = True  # own a memory cgroup when possible (owned.py)
    sockets: tuple[str, ...] = ()  # tcp://HOST:PORT / unix:PATH, bound once, handed to each run
    health_url: str | None = None
    health_interval_s: float = 10.0
    health_timeout_s: float = 1.0
    health_failures: int = 3
    health_start_period_s: float = 0.0
    watchdog_s: float | None = None  # sd_notify WATCHDOG_USEC for the program
    leak_window_s: float | None = 60.0  # least history for a leak verdict; None: off
    # The fastest allocation the sampling rate plans for (~1.7-2 GB/s for one Python process
    # here): far from a threshold, the next sample waits until this rate could close the gap.
    max_alloc_rate_bytes_per_s: int = 2 * 1024**3


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    programs: tuple[ProgramConfig, ...]
    budget: GuardConfig | None = None  # total across programs; its ladder uses the defaults'
    log_dir: Path | None = None
    json_logs: bool = False
    control_path: Path | None = None  # None: the default under the runtime directory
    psi: PsiSpec | None = PsiSpec()  # noqa: RUF009 - frozen; pressure wakes the loop; None: off
    trace_path: Path | None = None  # memwarden.trace/1 of every program's samples and events

    @property
    def tick_s(self) -> float:
        return min(p.memory.interval_s for p in self.programs)


def default_name(command: tuple[str, ...]) -> str:
    """`app` for `python app.py` or `python -m app`, else the executable's base name."""
    base = os.path.basename(command[0])
    if base.startswith("python") and len(command) > 1:
        if command[1] == "-m" and len(command) > 2:
            return re.sub(r"[^A-Za-z0-9_.-]", "-", command[2])[:64]
        if not command[1].startswith("-"):
            stem = os.path.splitext(os.path.basename(command[1]))[0]
            return re.sub(r"[^A-Za-z0-9_.-]", "-", stem)[:64] or base
    return re.sub(r"[^A-Za-z0-9_.-]", "-", base)[:64] or "program"


def program_from(resolved: Resolved) -> ProgramConfig:
    """A ProgramConfig from resolved program settings (memory ladder checked)."""
    values = resolved.values
    if values["command"] is None:
        raise ConfigError("command", None, "a program needs a command")
    name = values["name"] or default_name(values["command"])
    memory = GuardConfig(**resolved.fields(MEMORY_KEYS))
    check_ladder(memory, resolved.given)
    fields = resolved.fields(k for k in values if k not in MEMORY_KEYS)
    fields.update(name=name, memory=memory, cwd=values["cwd"], env=values["env"] or (),
                  sockets=values["socket"] or (), autorestart=Autorestart(values["autorestart"]))
    return ProgramConfig(**fields)


def build_program(values: Mapping[str, Any]) -> ProgramConfig:
    """One program from a mapping of program keys (as a [[program]] table)."""
    return program_from(resolve("program", [file_layer("program", values, "")]))


def split_supervisor_table(table: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A [supervisor] table -> (program defaults, supervisor-only keys)."""
    program, own = section_settings("program"), section_settings("supervisor")
    defaults: dict[str, Any] = {}
    only: dict[str, Any] = {}
    for key, value in table.items():
        if key in own:
            only[key] = value
        elif key in program and key not in ("name", "command"):
            defaults[key] = value
        else:
            from memwarden.settings.load import unknown

            known = [k for k in [*program, *own] if k not in ("name", "command")]
            raise unknown("supervisor." + key, key, value, known)
    return defaults, only


class SupervisorLayers:
    """Where the supervisor's settings come from, weakest first, for each program and for
    the supervisor itself: the [supervisor] table, a [[program]] table, MEMWARDEN_SUPERVISOR_*
    variables, flags. load_supervisor_config and `memwarden config` share them."""

    def __init__(self, file: ConfigFile, environ: Mapping[str, str],
                 options: Mapping[str, Any], command: tuple[str, ...] = ()) -> None:
        program_keys, own_keys = section_settings("program"), section_settings("supervisor")
        defaults, only = split_supervisor_table(file.section("supervisor"))
        self.file, self.command = file, command
        self.table = file_layer("program", defaults, "supervisor.")
        self.env = env_layer("program", environ)
        self.flags = given_layer("program", {k: v for k, v in options.items()
                                             if k in program_keys}, FLAG)
        self.own = [file_layer("supervisor", only, "supervisor."),
                    env_layer("supervisor", environ),
                    given_layer("supervisor", {k: v for k, v in options.items()
                                               if k in own_keys}, FLAG)]

    def defaults(self) -> list[Layer]:
        """The layers every program starts from (no [[program]] table, no command)."""
        return [self.table, self.env, self.flags]

    def programs(self) -> list[tuple[str, list[Layer]]]:
        """(where, layers) of each program: the command given, else each [[program]]."""
        if self.command:
            argv = Layer(FLAG, {"command": list(self.command)}, {"command": "command"})
            return [("program", [self.table, self.env, argv, self.flags])]
        entries = []
        for index, table in enumerate(self.file.programs()):
            where = f"program[{table.get('name', index)}]"
            own = file_layer("program", table, where + ".")
            entries.append((where, [self.table, own, self.env, self.flags]))
        return entries


def load_supervisor_config(
    options: Mapping[str, Any],
    command: tuple[str, ...] = (),
    *,
    table: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SupervisorConfig:
    """Options are flags by key (None = not given); `table` is the config file's top-level
    table (memwarden.settings.files), `environ` the environment (os.environ)."""
    environ = os.environ if environ is None else environ
    layers = SupervisorLayers(ConfigFile(dict(table or {})), environ, options, command)
    programs = [program_from(resolve("program", each)) for _, each in layers.programs()]
    if not programs:
        raise ConfigError("command", None, "give a command after -- or [[program]] tables")
    names = [p.name for p in programs]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("name", name, "program names must be unique")
    sup = resolve("supervisor", layers.own)
    budget = None
    if sup.values["budget"] is not None:
        ladder = resolve("program", layers.defaults(), keys=("warn", "critical", "restart"))
        budget = GuardConfig(limit_bytes=sup.values["budget"], **ladder.fields())
        check_ladder(budget, ladder.given)
    fields = sup.fields(k for k in section_settings("supervisor") if k != "budget")
    return SupervisorConfig(programs=tuple(programs), budget=budget, **fields)


def check_supervisor_settings(loaded: LoadedConfig) -> None:
    """The [supervisor] table and MEMWARDEN_SUPERVISOR_* variables, without a command."""
    table = loaded.file.table
    if table.get("program"):
        load_supervisor_config({}, table=table, environ=loaded.environ)
    else:
        load_supervisor_config({}, ("true",), table=table, environ=loaded.environ)
