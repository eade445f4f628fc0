"""Supervisor configuration: frozen dataclasses from CLI options and TOML `[[program]]` tables.

Precedence per program: command-line options > its `[[program]]` table > the `[supervisor]`
table (defaults for every program, plus the total budget) > built-in defaults. Every error is a
ConfigError naming the key and the bad value; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from memwarden.config import GUARD_KEYS, GuardConfig, build_guard_config, check_top_level_keys
from memwarden.errors import ConfigError
from memwarden.supervisor.policy.cron import CronSchedule, parse_cron
from memwarden.units import (
    parse_bool,
    parse_duration,
    parse_fraction,
    parse_optional_duration,
    parse_size,
)

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Keys valid in a [[program]] table and, as defaults, in [supervisor].
PROGRAM_KEYS = frozenset(
    {
        "name", "command", "cwd", "env", "limit", "warn", "critical", "restart", "interval",
        "critical_timeout",
        "grace", "max_restarts", "restart_window", "max_age", "max_age_jitter", "restart_at",
        "backoff", "backoff_max", "stable_after", "autorestart", "log_max_size", "log_backups",
        # owned cgroup, socket hand-off, watchdog
        "cgroup", "socket", "health_url", "health_interval", "health_timeout", "health_failures",
        "health_start_period", "watchdog", "leak_window",
    }
)
SUPERVISOR_ONLY_KEYS = frozenset({"budget", "log_dir", "json", "control_socket", "psi"})
MEMORY_KEYS = ("limit", "warn", "critical", "restart", "interval", "critical_timeout")
AUTORESTART = ("always", "on-failure", "never")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


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
    autorestart: str = "always"
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
    leak_window_s: float | None = 300.0  # least history for a leak verdict; None: off


@dataclass(frozen=True, slots=True)
class PsiSpec:
    """A PSI trigger: `kind` ("some"/"full") tasks stalled stall_us within window_us."""

    kind: str = "some"
    stall_us: int = 100_000
    window_us: int = 2_000_000


PSI_HELP = "expected 'some|full STALL WINDOW', e.g. 'some 100ms 2s' (window 500ms-10s), or off"


def parse_psi(value: Any) -> PsiSpec | None:
    """`some 100ms 2s` -> PsiSpec; off/none/false -> None. Limits are the kernel's."""
    if value is None or value is False:
        return None
    text = str(value).strip()
    if text.lower() in ("off", "none", "false", "0", ""):
        return None
    parts = text.split()
    if len(parts) != 3 or parts[0] not in ("some", "full"):
        raise ConfigError("psi", value, PSI_HELP)
    try:
        stall_s = parse_duration(parts[1], key="psi")
        window_s = parse_duration(parts[2], key="psi")
    except ConfigError:
        raise ConfigError("psi", value, PSI_HELP) from None
    stall_us, window_us = round(stall_s * 1e6), round(window_s * 1e6)
    if not 500_000 <= window_us <= 10_000_000:
        raise ConfigError("psi", value, "the window must be within 500ms..10s (kernel limit)")
    if not 0 < stall_us <= window_us:
        raise ConfigError("psi", value, "the stall time must be above 0 and within the window")
    return PsiSpec(parts[0], stall_us, window_us)


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    programs: tuple[ProgramConfig, ...]
    budget: GuardConfig | None = None  # total across programs; its ladder uses the defaults'
    log_dir: Path | None = None
    json_logs: bool = False
    control_path: Path | None = None  # None: the default under the runtime directory
    psi: PsiSpec | None = PsiSpec()  # memory pressure wakes the loop (pressure.py); None: off

    @property
    def tick_s(self) -> float:
        return min(p.memory.interval_s for p in self.programs)


def _int(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(key, value, "expected a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(key, value, "expected a whole number") from None
    if number < minimum:
        raise ConfigError(key, value, f"must be at least {minimum}")
    return number


def _command(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as err:
            raise ConfigError("command", value, str(err)) from None
    elif isinstance(value, list | tuple) and all(isinstance(p, str) for p in value):
        parts = list(value)
    else:
        raise ConfigError("command", value, "expected a string or a list of strings")
    if not parts:
        raise ConfigError("command", value, "the command is empty")
    return tuple(parts)


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


def build_program(values: Mapping[str, Any]) -> ProgramConfig:
    """Validate one program's merged keys (defaults, table, options) into a ProgramConfig."""
    for key, value in values.items():
        if key not in PROGRAM_KEYS:
            raise ConfigError(key, value, "unknown program key")
    if values.get("command") is None:
        raise ConfigError("command", values.get("command"), "a program needs a command")
    command = _command(values["command"])
    name = str(values.get("name") or default_name(command))
    if not _NAME.match(name):
        raise ConfigError("name", name, "use 1-64 letters, digits, '.', '_' or '-'")
    memory = build_guard_config(
        {k: values.get(k) for k in MEMORY_KEYS}, base=GuardConfig(interval_s=0.1)
    )
    changes: dict[str, Any] = {"name": name, "command": command, "memory": memory}
    for key, value in values.items():
        if value is None or key in MEMORY_KEYS or key in ("name", "command"):
            continue
        if key == "cwd":
            changes["cwd"] = Path(str(value))
        elif key == "env":
            if not isinstance(value, Mapping):
                raise ConfigError(key, value, "expected a table of NAME = \"value\"")
            changes["env"] = tuple((str(k), str(v)) for k, v in value.items())
        elif key == "grace":
            changes["grace_s"] = parse_duration(value, key=key)
        elif key == "max_restarts":
            changes["max_restarts"] = _int(key, value, 0)
        elif key == "restart_window":
            changes["restart_window_s"] = parse_duration(value, key=key)
        elif key == "max_age":
            changes["max_age_s"] = parse_optional_duration(value, key=key)
        elif key == "max_age_jitter":
            jitter = parse_fraction(value, key=key)
            changes["max_age_jitter"] = jitter
        elif key == "restart_at":
            changes["restart_at"] = parse_cron(str(value), key=key)
        elif key == "backoff":
            changes["backoff_s"] = parse_duration(value, key=key)
        elif key == "backoff_max":
            changes["backoff_max_s"] = parse_duration(value, key=key)
        elif key == "stable_after":
            changes["stable_after_s"] = parse_duration(value, key=key)
        elif key == "autorestart":
            if value not in AUTORESTART:
                raise ConfigError(key, value, f"expected one of {', '.join(AUTORESTART)}")
            changes["autorestart"] = value
        elif key == "log_max_size":
            changes["log_max_bytes"] = parse_size(value, key=key)
        elif key == "log_backups":
            changes["log_backups"] = _int(key, value, 0)
        elif key == "cgroup":
            changes["cgroup"] = parse_bool(value, key=key)
        elif key == "socket":
            changes["sockets"] = _sockets(value)
        elif key == "health_url":
            changes["health_url"] = _health_url(str(value))
        elif key in ("health_interval", "health_timeout", "health_start_period"):
            seconds = parse_duration(value, key=key)
            if seconds <= 0 and key != "health_start_period":
                raise ConfigError(key, value, "must be above 0")
            changes[f"{key}_s"] = seconds
        elif key == "health_failures":
            changes["health_failures"] = _int(key, value, 1)
        elif key == "watchdog":
            changes["watchdog_s"] = parse_optional_duration(value, key=key)
        elif key == "leak_window":
            changes["leak_window_s"] = parse_optional_duration(value, key=key)
    return ProgramConfig(**changes)


def _sockets(value: Any) -> tuple[str, ...]:
    from memwarden.supervisor.sockets import parse_socket

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError("socket", value, "expected tcp://HOST:PORT, unix:PATH or a list")
    return tuple(parse_socket(item).text for item in items)


def _health_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("health_url", url, "expected http://HOST[:PORT]/PATH")
    return url


def load_supervisor_config(
    options: Mapping[str, Any],
    command: tuple[str, ...] = (),
    *,
    table: Mapping[str, Any] | None = None,
) -> SupervisorConfig:
    """Options use program keys (None = not given) plus log_dir/json/control_socket/budget.

    `table` is the memwarden TOML table (see memwarden.config.load_toml_table).
    """
    table = dict(table or {})
    check_top_level_keys(table, GUARD_KEYS)
    section = table.get("supervisor", {})
    if not isinstance(section, Mapping):
        raise ConfigError("supervisor", section, "expected a [supervisor] table")
    for key, value in section.items():
        known = key in PROGRAM_KEYS or key in SUPERVISOR_ONLY_KEYS
        if not known or key in ("name", "command"):
            raise ConfigError(f"supervisor.{key}", value, "unknown supervisor key")
    defaults = {k: v for k, v in section.items() if k in PROGRAM_KEYS}
    given = {k: v for k, v in options.items() if v is not None and k in PROGRAM_KEYS}
    programs: list[ProgramConfig] = []
    if command:
        programs.append(build_program({**defaults, **given, "command": list(command)}))
    else:
        tables = table.get("program", [])
        if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
            raise ConfigError("program", tables, "expected [[program]] tables")
        for entry in tables:
            programs.append(build_program({**defaults, **entry, **given}))
    if not programs:
        raise ConfigError("command", None, "give a command after -- or [[program]] tables")
    names = [p.name for p in programs]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("name", name, "program names must be unique")
    merged = {**section, **{k: v for k, v in options.items() if v is not None}}
    budget = None
    if merged.get("budget") is not None:
        budget_bytes = parse_size(merged["budget"], key="budget")
        budget = build_guard_config(
            {"limit": budget_bytes, **{k: defaults.get(k) for k in ("warn", "critical",
                                                                       "restart")}},
            base=GuardConfig(),
        )
    log_dir = merged.get("log_dir")
    control = merged.get("control_socket")
    return SupervisorConfig(
        programs=tuple(programs),
        budget=budget,
        log_dir=Path(str(log_dir)) if log_dir else None,
        json_logs=parse_bool(merged.get("json", False), key="json"),
        control_path=Path(str(control)) if control else None,
        psi=parse_psi(merged["psi"]) if "psi" in merged else PsiSpec(),
    )
