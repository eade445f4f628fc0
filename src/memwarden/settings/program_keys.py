"""Parsers of the supervisor's structured settings: a command, a program name, an env table,
listening sockets and a PSI trigger. Declared in settings.declared_program; each raises
ConfigError naming the key and the value.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from memwarden.errors import ConfigError
from memwarden.record import record
from memwarden.settings.types import short_duration
from memwarden.units import is_off, parse_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@record
class PsiSpec:
    """A PSI trigger: `kind` ("some"/"full") tasks stalled stall_us within window_us."""

    kind: str = "some"
    stall_us: int = 100_000
    window_us: int = 2_000_000


PSI_HELP = "expected 'some|full STALL WINDOW', e.g. 'some 100ms 2s' (window 500ms-10s), or off"


def parse_psi(value: Any, key: str = "psi") -> PsiSpec | None:
    """`some 100ms 2s` -> PsiSpec; an off word -> None. Limits are the kernel's."""
    if value is None or is_off(value):
        return None
    text = str(value).strip()
    parts = text.split()
    if len(parts) != 3 or parts[0] not in ("some", "full"):
        raise ConfigError(key, value, PSI_HELP)
    try:
        stall_s = parse_duration(parts[1], key=key)
        window_s = parse_duration(parts[2], key=key)
    except ConfigError:
        raise ConfigError(key, value, PSI_HELP) from None
    stall_us, window_us = round(stall_s * 1e6), round(window_s * 1e6)
    if not 500_000 <= window_us <= 10_000_000:
        raise ConfigError(key, value, "the window must be within 500ms..10s (kernel limit)")
    if not 0 < stall_us <= window_us:
        raise ConfigError(key, value, "the stall time must be above 0 and within the window")
    return PsiSpec(parts[0], stall_us, window_us)


def show_psi(spec: PsiSpec) -> str:
    return (f"{spec.kind} {short_duration(spec.stall_us / 1e6)} "
            f"{short_duration(spec.window_us / 1e6)}")


def parse_command(value: Any, key: str = "command") -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as err:
            raise ConfigError(key, value, str(err)) from None
    elif isinstance(value, list | tuple) and all(isinstance(p, str) for p in value):
        parts = list(value)
    else:
        raise ConfigError(key, value, "expected a string or a list of strings")
    if not parts or any("\0" in p for p in parts):
        raise ConfigError(key, value, "expected a non-empty command")
    return tuple(parts)


def check_name(value: Any, key: str = "name") -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(key, value, "use 1-64 letters, digits, '.', '_' or '-'")
    return value


def parse_env_table(value: Any, key: str = "env") -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str | int | float | bool)
                                                 for v in value.values()):
        raise ConfigError(key, value, 'expected a table of NAME = "value"')
    for name in value:
        if not name or "=" in name or "\0" in name:
            raise ConfigError(key, name, "expected variable names without '=' or NUL")
    return tuple((str(k), str(v)) for k, v in value.items())


def parse_sockets(value: Any, key: str = "socket") -> tuple[str, ...]:
    from memwarden.supervisor.sockets import parse_socket

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(key, value, "expected tcp://HOST:PORT, unix:PATH or a list")
    return tuple(parse_socket(item).text for item in items)
