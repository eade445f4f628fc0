"""Guardian configuration: frozen dataclass from arguments, `MEMWARDEN_*` env and TOML.

Precedence: explicit arguments > environment > `memwarden.toml` > `[tool.memwarden]` in
pyproject.toml > defaults. Errors quote the key and the bad value (ConfigError).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from memwarden.errors import ConfigError
from memwarden.policy import PolicyConfig, Tier
from memwarden.units import (
    FALSE_WORDS,
    Threshold,
    parse_duration,
    parse_fraction,
    parse_optional_duration,
    parse_size,
    parse_threshold,
)

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from memwarden.sample import MetricChoice

ENV_PREFIX = "MEMWARDEN_"
# Sub-tables other components own and validate themselves.
SECTION_KEYS = frozenset({"program", "supervisor", "web", "alerts", "leak", "otel"})
GUARD_KEYS = frozenset(
    {"limit", "warn", "critical", "restart", "interval", "metric", "hysteresis", "sustain", "trace",
     "critical_timeout"}
)
METRICS: tuple[MetricChoice, ...] = ("auto", "tree_rss", "working_set")
OFF_WORDS = FALSE_WORDS  # "off" disables a threshold, a section, a signal


@dataclass(frozen=True, slots=True)
class GuardConfig:
    limit_bytes: int | None = None  # the configured budget; the effective limit may be lower
    warn: Threshold | None = Threshold(fraction=0.70)  # noqa: RUF009 - frozen, shared safely
    critical: Threshold | None = Threshold(fraction=0.85)  # noqa: RUF009
    restart: Threshold | None = Threshold(fraction=0.95)  # noqa: RUF009
    interval_s: float = 1.0
    metric: MetricChoice = "auto"
    hysteresis_fraction: float = 0.05
    sustain_s: float = 0.0
    trace_path: Path | None = None
    critical_timeout_s: float | None = None  # critical this long escalates to restart

    def policy(self) -> PolicyConfig:
        ladder = {
            tier: threshold
            for tier, threshold in (
                (Tier.WARN, self.warn),
                (Tier.CRITICAL, self.critical),
                (Tier.RESTART, self.restart),
            )
            if threshold is not None
        }
        return PolicyConfig(
            ladder=ladder, hysteresis_fraction=self.hysteresis_fraction, sustain_s=self.sustain_s,
            critical_timeout_s=self.critical_timeout_s,
        )


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


def load_toml_table(path: Path | None = None) -> dict[str, Any]:
    """The memwarden table: a whole `memwarden.toml`, or `[tool.memwarden]` of pyproject.toml."""
    path = config_path_from(os.environ, path)
    if path is not None:
        found: tuple[Path, bool] | None = (path, path.name == "pyproject.toml")
    else:
        found = find_config_file()
    if found is None:
        return {}
    file_path, is_pyproject = found
    import tomllib  # here, not at the top: ~0.6 MB a long-lived supervisor need not carry

    try:
        with open(file_path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("config", str(file_path), "file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", str(file_path), f"invalid TOML: {err}") from err
    if is_pyproject:
        tool = data.get("tool", {})
        table = tool.get("memwarden", {}) if isinstance(tool, dict) else {}
        return table if isinstance(table, dict) else {}
    return data


def env_table(environ: Mapping[str, str], keys: frozenset[str]) -> dict[str, str]:
    """`MEMWARDEN_LIMIT=512M` -> {"limit": "512M"} for the given keys."""
    return {
        key: environ[ENV_PREFIX + key.upper()]
        for key in keys
        if ENV_PREFIX + key.upper() in environ
    }


def _threshold_or_off(key: str, value: Any) -> Threshold | None:
    if isinstance(value, str) and value.strip().lower() in OFF_WORDS:
        return None
    if value is False:
        return None
    return parse_threshold(value, key=key)


def build_guard_config(
    values: Mapping[str, Any], *, base: GuardConfig | None = None
) -> GuardConfig:
    """Validate a flat mapping of guard keys (from TOML, env or arguments) onto base."""
    config = base or GuardConfig()
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if key == "limit":
            changes["limit_bytes"] = (
                None if str(value).strip().lower() in OFF_WORDS else parse_size(value, key=key)
            )
        elif key in ("warn", "critical", "restart"):
            changes[key] = _threshold_or_off(key, value)
        elif key == "interval":
            interval_s = parse_duration(value, key=key)
            if interval_s <= 0:
                raise ConfigError(key, value, "the interval must be above 0")
            changes["interval_s"] = interval_s
        elif key == "metric":
            if value not in METRICS:
                raise ConfigError(key, value, f"expected one of {', '.join(METRICS)}")
            changes["metric"] = value
        elif key == "hysteresis":
            changes["hysteresis_fraction"] = parse_fraction(value, key=key)
        elif key == "sustain":
            changes["sustain_s"] = parse_duration(value, key=key)
        elif key == "critical_timeout":
            changes["critical_timeout_s"] = parse_optional_duration(value, key=key)
        elif key == "trace":
            changes["trace_path"] = Path(str(value)) if str(value) else None
        else:
            raise ConfigError(key, value, "unknown config key")
    merged = GuardConfig(**{**_as_dict(config), **changes})
    _check_ladder(merged)
    return merged


def _as_dict(config: GuardConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in GuardConfig.__slots__}


def _check_ladder(config: GuardConfig) -> None:
    """Thresholds of the same kind must rise warn < critical < restart."""
    named = [("warn", config.warn), ("critical", config.critical), ("restart", config.restart)]
    present = [(name, t) for name, t in named if t is not None]
    for (low_name, low), (high_name, high) in itertools.pairwise(present):
        low_value = low.fraction if low.fraction is not None else low.size_bytes
        high_value = high.fraction if high.fraction is not None else high.size_bytes
        same_kind = (low.fraction is None) == (high.fraction is None)
        known = low_value is not None and high_value is not None
        if same_kind and known and low_value >= high_value:  # type: ignore[operator]
            raise ConfigError(high_name, str(high), f"must be above {low_name} ({low})")


def config_path_from(environ: Mapping[str, str], config_path: Path | None) -> Path | None:
    """An explicit path, else $MEMWARDEN_CONFIG, else None (search from the cwd)."""
    if config_path is None and environ.get(ENV_PREFIX + "CONFIG"):
        return Path(environ[ENV_PREFIX + "CONFIG"])
    return config_path


def load_section(
    section: str, *, environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> dict[str, Any]:
    """The `[section]` sub-table of the config file; {} when absent."""
    environ = os.environ if environ is None else environ
    table = load_toml_table(config_path_from(environ, config_path)).get(section, {})
    if not isinstance(table, dict):
        raise ConfigError(section, table, f"expected a table ([{section}])")
    return table


def check_top_level_keys(table: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key, value in table.items():
        if key not in allowed and key not in SECTION_KEYS:
            raise ConfigError(key, value, "unknown config key")


def load_guard_config(
    arguments: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> GuardConfig:
    """Build the guardian's config: TOML, then environment, then explicit arguments."""
    environ = os.environ if environ is None else environ
    table = load_toml_table(config_path_from(environ, config_path))
    check_top_level_keys(table, GUARD_KEYS)
    config = build_guard_config({k: v for k, v in table.items() if k in GUARD_KEYS})
    config = build_guard_config(env_table(environ, GUARD_KEYS), base=config)
    return build_guard_config(dict(arguments or {}), base=config)
