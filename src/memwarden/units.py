"""Parsing and formatting of sizes, durations and thresholds (`400M`, `1.5G`, `85%`, `100ms`)."""

from __future__ import annotations

import math
import re

from memwarden.errors import ConfigError
from memwarden.record import record

# Binary multiples, as PM2, supervisord and Kubernetes' Mi/Gi mean them for memory.
_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "ki": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mi": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gi": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "ti": 1024**4,
    "tib": 1024**4,
}
_DURATION_UNITS: dict[str, float] = {
    "": 1.0,
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
# At most 15 digits before and 9 after the point: a 400-digit value never reaches arithmetic.
_NUMBER_UNIT = re.compile(r"^\s*([0-9]{1,15}(?:\.[0-9]{1,9})?)\s*([a-zA-Z]{0,3})\s*$")
MAX_NUMBER = 10**15  # numbers given as TOML integers or floats are bounded the same way


def _bounded(value: int | float, key: str, accepted: str) -> float:
    """A TOML/Python number as a float, refusing nan, inf and anything of 16 digits or more."""
    if not math.isfinite(value) or abs(value) >= MAX_NUMBER:
        raise ConfigError(key, value, accepted)
    return float(value)


def parse_size(text: str | int, *, key: str = "size") -> int:
    """Bytes from `512M`, `1.5G`, `300MiB` or a plain integer; `key` names the setting in errors."""
    if isinstance(text, bool):
        raise ConfigError(key, text, "expected a size such as 512M or 1.5G")
    if isinstance(text, int | float):
        if isinstance(text, float) and not float(text).is_integer():
            raise ConfigError(key, text, "expected a whole number of bytes or a size such as 512M")
        size_bytes = int(_bounded(text, key, "expected a size such as 512M or 1.5G"))
        if size_bytes <= 0:
            raise ConfigError(key, text, "a size must be positive")
        return size_bytes
    match = _NUMBER_UNIT.match(str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ConfigError(key, text, "expected a size such as 512M, 1.5G or 300MiB")
    size_bytes = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size_bytes <= 0:
        raise ConfigError(key, text, "a size must be positive")
    return size_bytes


def parse_duration(text: str | float | int, *, key: str = "duration") -> float:
    """Seconds from `100ms`, `10s`, `2m`, `1h`, `1d` or a plain number of seconds."""
    if isinstance(text, bool):
        raise ConfigError(key, text, "expected a duration such as 100ms, 10s or 1h")
    if isinstance(text, int | float):
        seconds = _bounded(text, key, "expected a duration such as 100ms, 10s or 1h")
    else:
        match = _NUMBER_UNIT.match(str(text))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _DURATION_UNITS:
            raise ConfigError(key, text, "expected a duration such as 100ms, 10s or 1h")
        seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    if seconds < 0:
        raise ConfigError(key, text, "a duration cannot be negative")
    return seconds


@record
class Threshold:
    """A threshold as given: a fixed size, or a fraction of the effective limit."""

    size_bytes: int | None = None
    fraction: float | None = None

    def resolve(self, limit_bytes: int | None) -> int | None:
        """Bytes for this threshold under `limit_bytes`; None when a percentage has no limit."""
        if self.size_bytes is not None:
            return self.size_bytes
        if self.fraction is None or limit_bytes is None:
            return None
        return int(limit_bytes * self.fraction)

    def __str__(self) -> str:
        if self.size_bytes is not None:
            return format_bytes(self.size_bytes)
        return f"{(self.fraction or 0.0) * 100:g}%"


def parse_threshold(text: str | int, *, key: str = "threshold") -> Threshold:
    """`85%` (of the effective limit) or a size (`400M`)."""
    if isinstance(text, str) and text.strip().endswith("%"):
        number = text.strip()[:-1].strip()
        try:
            percent = float(number) if len(number) <= 24 and number.isascii() else math.nan
        except ValueError:
            raise ConfigError(key, text, "expected a percentage such as 85%") from None
        if not 0 < percent <= 100:  # False for nan too
            raise ConfigError(key, text, "a percentage must be above 0% and at most 100%")
        return Threshold(fraction=percent / 100.0)
    return Threshold(size_bytes=parse_size(text, key=key))


def parse_fraction(value: object, *, key: str) -> float:
    """`0.05` or `5%`: a fraction at least 0 and below 1."""
    if isinstance(value, bool):
        raise ConfigError(key, value, "expected a fraction such as 0.05 or 5%")
    text = str(value).strip()
    if len(text) > 24 or not text.isascii():
        raise ConfigError(key, value, "expected a fraction such as 0.05 or 5%")
    try:
        fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(key, value, "expected a fraction such as 0.05 or 5%") from None
    if not 0 <= fraction < 1:  # False for nan too
        raise ConfigError(key, value, "must be at least 0 and below 1 (100%)")
    return fraction


# The one set of words that switch a setting off (a threshold, a duration, a signal, a
# feature). "0" is not among them: `--limit 0` is refused, not read as "no limit".
OFF_WORDS = frozenset({"off", "none", "false", "no"})
TRUE_WORDS = frozenset({"on", "true", "yes", "1"})
FALSE_WORDS = OFF_WORDS | {"0"}


def is_off(value: object) -> bool:
    """True for an off word (any case) or TOML `false`."""
    return value is False or (isinstance(value, str) and value.strip().lower() in OFF_WORDS)


def parse_optional_duration(value: object, *, key: str) -> float | None:
    """A duration, or None for an off word (TOML false too)."""
    if is_off(value):
        return None
    return parse_duration(value, key=key)  # type: ignore[arg-type]


def format_bytes(size_bytes: int | None) -> str:
    """Human figure in binary units: `512.0 MiB`; `-` for an unknown figure."""
    if size_bytes is None:
        return "-"
    value = float(size_bytes)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    return f"{sign}{value:.1f} TiB"  # unreachable; keeps mypy sure of a return


def format_duration(seconds: float | None) -> str:
    """`850ms`, `12.0s`, `3m20s`, `2h05m`; `-` for unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


# A growth rate reads best in the largest unit that keeps it at 1 MiB or more: a demo's leak
# is "+6.2 MiB/s", a slow one "+42.0 MiB/h". The terminal and the report both use this.
RATE_UNITS_S = ((1.0, "s"), (60.0, "min"), (3600.0, "h"))


def rate_unit(bytes_per_s: float) -> tuple[float, str]:
    """(seconds per unit, unit name) for a rate of this magnitude."""
    for unit_s, name in RATE_UNITS_S:
        if abs(bytes_per_s) * unit_s >= 1024**2:
            return unit_s, name
    return RATE_UNITS_S[-1]


def format_rate(bytes_per_s: float | None, *, like: float | None = None,
                signed: bool = True) -> str:
    """`+6.2 MiB/s`, `+42.0 MiB/h`; `-` for unknown. like: take the unit another rate reads
    in (a confidence interval in its estimate's unit)."""
    if bytes_per_s is None or not abs(bytes_per_s) < float("inf"):  # None, NaN or infinite
        return "-"
    unit_s, name = rate_unit(bytes_per_s if like is None else like)
    value = bytes_per_s * unit_s
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    return f"{sign}{format_bytes(int(abs(value)))}/{name}"
