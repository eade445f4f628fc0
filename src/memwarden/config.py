"""The guardian's typed config (GuardConfig), built from the settings registry.

Its settings are the top-level keys of the config file (memwarden.settings.declared_program):
arguments > `MEMWARDEN_<KEY>` > `memwarden.toml` or `[tool.memwarden]` > defaults. Besides
each value's own range, the ladder must rise (warn < critical < restart) and no threshold
given as a size may exceed the limit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path

from memwarden.errors import ConfigError
from memwarden.policy import PolicyConfig, Tier
from memwarden.record import fields as record_fields
from memwarden.record import record
from memwarden.settings.types import short_size
from memwarden.units import Threshold

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from memwarden.sample import MetricChoice
    from memwarden.settings.load import Resolved

LADDER = ("warn", "critical", "restart")


@record
class GuardConfig:
    limit_bytes: int | None = None  # the configured budget; the effective limit may be lower
    warn: Threshold | None = Threshold(fraction=0.70)
    critical: Threshold | None = Threshold(fraction=0.85)
    restart: Threshold | None = Threshold(fraction=0.95)
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


def guard_from(resolved: Resolved) -> GuardConfig:
    """A GuardConfig from resolved guard (or program memory) settings, ladder checked."""
    fields = set(record_fields(GuardConfig))
    config = GuardConfig(**{k: v for k, v in resolved.fields().items() if k in fields})
    check_ladder(config, resolved.given)
    return config


def check_ladder(config: GuardConfig,
                 given: Callable[[str], tuple[str, Any]] | None = None) -> None:
    """Thresholds of the same kind rise warn < critical < restart; sizes stay within the
    limit. `given(key)` is (the key as the user spelled it, the value as given)."""
    def refuse(key: str, reason: str) -> ConfigError:
        name, raw = given(key) if given is not None else (key, str(getattr(config, key)))
        return ConfigError(name, raw, reason)

    present = [(key, t) for key in LADDER if (t := getattr(config, key)) is not None]
    limit = config.limit_bytes
    for key, threshold in present:
        if limit is not None and threshold.size_bytes is not None and threshold.size_bytes > limit:
            raise refuse(key, f"must not be above the limit ({short_size(limit)})")
    for (low_name, low), (high_name, high) in itertools.pairwise(present):
        low_value = low.fraction if low.fraction is not None else low.size_bytes
        high_value = high.fraction if high.fraction is not None else high.size_bytes
        same_kind = (low.fraction is None) == (high.fraction is None)
        known = low_value is not None and high_value is not None
        if same_kind and known and low_value >= high_value:
            raise refuse(high_name, f"must be above {low_name} ({low})")


def load_guard_config(
    arguments: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> GuardConfig:
    """The guardian's config from a fresh read of the file and environment (one-shot callers;
    a process that starts several components loads once: memwarden.settings.load)."""
    from memwarden.settings import load

    return load(config_path, environ).guard(arguments)
