"""Every memwarden setting, declared once (registry), read once (LoadedConfig).

`load(config_path, environ)` reads the config file and takes the environment; the same
LoadedConfig then builds the guardian's, leak watch's, alerts', web's, workers' and
supervisor's typed configs, each with the one precedence rule: flag or argument > environment
> file > default. Importing this package is cheap (no typing, click or tomllib).
"""

from __future__ import annotations

from memwarden.settings.files import ConfigFile, read_config
from memwarden.settings.load import ARGUMENT, Layer, Resolved, env_layer, file_layer, given_layer
from memwarden.settings.load import resolve as resolve_layers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from memwarden.alerts.config import AlertsConfig
    from memwarden.config import GuardConfig
    from memwarden.leak.config import LeakConfig
    from memwarden.web.config import WebConfig
    from memwarden.workers.recycle import RecycleConfig

__all__ = ["ConfigFile", "LoadedConfig", "load"]


class LoadedConfig:
    """The config file and environment, read once and handed to every component."""

    __slots__ = ("environ", "file")

    def __init__(self, file: ConfigFile | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.file = file or ConfigFile()
        self.environ: Mapping[str, str] = {} if environ is None else environ

    def layers(self, section: str, given: Mapping[str, Any] | None = None,
               source: str = ARGUMENT, old_keys: Mapping[str, str] | None = None) -> list[Layer]:
        where = "" if section == "guard" else section + "."
        return [file_layer(section, self.file.section(section), where),
                env_layer(section, self.environ),
                given_layer(section, given or {}, source, old_keys)]

    def resolve(self, section: str, given: Mapping[str, Any] | None = None,
                source: str = ARGUMENT, old_keys: Mapping[str, str] | None = None) -> Resolved:
        return resolve_layers(section, self.layers(section, given, source, old_keys))

    def sets(self, section: str) -> bool:
        """Whether the config file or the environment gives any key of the section (without
        one, its typed config is the defaults, and its module need not load)."""
        return bool(self.file.section(section) or env_layer(section, self.environ).values)

    def guard(self, arguments: Mapping[str, Any] | None = None,
              source: str = ARGUMENT) -> GuardConfig:
        from memwarden.config import guard_from

        return guard_from(self.resolve("guard", arguments, source))

    def leak(self) -> LeakConfig:
        from memwarden.leak.config import leak_from

        return leak_from(self.resolve("leak"))

    def alerts(self, arguments: Mapping[str, Any] | None = None) -> AlertsConfig:
        from memwarden.alerts.config import alerts_from

        return alerts_from(self.resolve("alerts", arguments))

    def web(self, options: Mapping[str, Any] | None = None) -> WebConfig:
        from memwarden.web.config import OLD_KEYS, web_from

        return web_from(self.resolve("web", options, old_keys=OLD_KEYS))

    def worker(self, arguments: Mapping[str, Any] | None = None) -> RecycleConfig | None:
        from memwarden.workers.recycle import recycle_from

        return recycle_from(self.resolve("worker", arguments))

    def check(self) -> None:
        """Validate every section a process may use (ConfigError on the first bad value)."""
        self.guard()
        self.leak()
        self.alerts()
        self.web()
        self.worker()
        from memwarden.supervisor.config import check_supervisor_settings

        check_supervisor_settings(self)


def load(config_path: str | Path | None = None, environ: Mapping[str, str] | None = None,
         flag: str = "config_path") -> LoadedConfig:
    """Read the config file (see settings.files) and take the environment (os.environ)."""
    import os

    environ = os.environ if environ is None else environ
    return LoadedConfig(read_config(config_path, environ, flag), environ)
