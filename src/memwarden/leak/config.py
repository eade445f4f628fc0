"""`[leak]` config (TOML sub-table) and `MEMWARDEN_LEAK_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from memwarden.config import ENV_PREFIX, env_table
from memwarden.errors import ConfigError
from memwarden.units import parse_bool, parse_duration, parse_optional_duration

KEYS = frozenset({"enabled", "min_window", "trace_window", "restart_before_oom",
                  "restart_margin", "snapshot_signal"})


@dataclass(frozen=True, slots=True)
class LeakConfig:
    enabled: bool = True
    min_window_s: float = 300.0  # no leak verdict on less history than this
    trace_window_s: float = 60.0  # tracemalloc window after a detection; 0 = off
    restart_before_oom: bool = False  # opt-in: restart at a quiet moment before the ETA
    restart_margin_s: float = 600.0  # ... when the peaks would reach the limit within this
    snapshot_signal: str = "SIGUSR2"  # or "off"


def load_leak_config(
    table: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> LeakConfig:
    """TOML `[leak]` table, then MEMWARDEN_LEAK_<KEY> variables (they win)."""
    from memwarden.leak.trigger import SIGNAL_ENV, parse_signal

    env = os.environ if environ is None else environ
    values: dict[str, Any] = dict(table or {})
    prefixed = env_table(env, frozenset(f"leak_{key}" for key in KEYS))
    values.update({key.removeprefix("leak_"): value for key, value in prefixed.items()})
    if SIGNAL_ENV in env:
        values["snapshot_signal"] = env[SIGNAL_ENV]
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = f"leak.{key}"
        if key in ("enabled", "restart_before_oom"):
            changes[key] = parse_bool(value, key=name)
        elif key in ("min_window", "restart_margin"):
            changes[f"{key}_s"] = parse_duration(value, key=name)
        elif key == "trace_window":
            changes["trace_window_s"] = parse_optional_duration(value, key=name) or 0.0
        elif key == "snapshot_signal":
            parse_signal(str(value), key=name)
            changes[key] = str(value)
        else:
            raise ConfigError(name, value, f"unknown key (known: {', '.join(sorted(KEYS))})")
    defaults = {f.name: getattr(LeakConfig(), f.name) for f in fields(LeakConfig)}
    return LeakConfig(**{**defaults, **changes})


ENV_NAMES = tuple(f"{ENV_PREFIX}LEAK_{key.upper()}" for key in sorted(KEYS))
