"""The leak watch's typed config: the `[leak]` table and `MEMWARDEN_LEAK_<KEY>` variables
(settings declared in memwarden.settings.declared_sections)."""

from __future__ import annotations

from memwarden.record import record

# Not `from typing import ...` at run time: the guardian's start loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from memwarden.settings.load import Resolved


@record
class LeakConfig:
    enabled: bool = True
    min_window_s: float = 60.0  # no leak verdict on less history (the start-up grace)
    trace_window_s: float = 20.0  # tracemalloc window after a detection; 0 = off
    full_census: bool = False  # the type census in every leak census, not only when needed
    restart_before_oom: bool = False  # opt-in: restart at a quiet moment before the ETA
    restart_margin_s: float = 600.0  # ... when the peaks would reach the limit within this
    snapshot_signal: str = "SIGUSR2"  # or "off"
    snapshot_dir: Path | None = None  # None: the current directory


def leak_from(resolved: Resolved) -> LeakConfig:
    fields = resolved.fields()
    fields["trace_window_s"] = fields["trace_window_s"] or 0.0
    return LeakConfig(**fields)


def load_leak_config(
    table: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> LeakConfig:
    """A `[leak]` table, then MEMWARDEN_LEAK_<KEY> variables (they win)."""
    from memwarden.settings import ConfigFile, LoadedConfig

    file = ConfigFile({"leak": dict(table or {})})
    import os

    return LoadedConfig(file, os.environ if environ is None else environ).leak()
