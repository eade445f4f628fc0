"""The Setting record and the registry: every setting memwarden reads is declared once.

A setting has a section ("guard" for the top-level keys of the config file, else its table:
"program", "supervisor", "web", "alerts", "leak", "worker"), a key (as written in TOML), a
converter (settings.types), a default written as a user would write it, help text, and the
names derived from them: the environment variable (`MEMWARDEN_<KEY>` for guard keys,
`MEMWARDEN_<SECTION>_<KEY>` otherwise; "program" keys use `MEMWARDEN_SUPERVISOR_<KEY>`, as
they are the [supervisor] table's defaults) and the CLI flag (`--key-with-dashes`). Old
environment names are kept as aliases.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from memwarden.settings.types import Converter

ENV_PREFIX = "MEMWARDEN_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
# Section -> the TOML table that holds it, in the order the reference lists them.
SECTIONS: dict[str, str] = {
    "guard": "(top level)",
    "program": "[[program]] and [supervisor]",
    "supervisor": "[supervisor]",
    "web": "[web]",
    "alerts": "[alerts]",
    "leak": "[leak]",
    "worker": "[worker]",
}
_ENV_SECTION = {"guard": "", "program": "SUPERVISOR_"}


class Setting:
    __slots__ = (
        "_typed",
        "aliases",
        "conv",
        "default",
        "env",
        "field",
        "flag",
        "help",
        "key",
        "multiple",
        "section",
    )

    def __init__(self, section: str, key: str, conv: Converter, default: Any, help: str, *,
                 field: str | None = None, flag: bool | str = False, env: bool = True,
                 aliases: tuple[str, ...] = (), multiple: bool = False) -> None:
        self.section, self.key, self.conv, self.help = section, key, conv, help
        self.default = default  # as written in TOML; converted (and so checked) once, lazily
        self.field = field or key  # the attribute of the typed config object
        self.env = (ENV_PREFIX + _ENV_SECTION.get(section, section.upper() + "_")
                    + key.upper()) if env else None
        self.flag = ("--" + key.replace("_", "-")) if flag is True else (flag or None)
        self.aliases = aliases  # older environment names, still read
        self.multiple = multiple  # a repeatable flag (a list in TOML)
        self._typed: tuple[Any] | None = None

    @property
    def name(self) -> str:
        """`limit` for guard keys, `web.max_concurrency` otherwise."""
        return self.key if self.section == "guard" else f"{self.section}.{self.key}"

    def typed_default(self) -> Any:
        if self._typed is None:
            self._typed = (None if self.default is None else self.conv(self.default, self.name),)
        return self._typed[0]

    def convert(self, value: Any, key: str) -> Any:
        return self.conv(value, key)

    def show(self, value: Any) -> str:
        return self.conv.show(value)


def _declared() -> list[Setting]:
    from memwarden.settings import declared_program, declared_sections

    return [*declared_program.SETTINGS, *declared_sections.SETTINGS]


_ALL: list[Setting] = []


def all_settings() -> list[Setting]:
    if not _ALL:
        _ALL.extend(_declared())
    return _ALL


def section(name: str) -> dict[str, Setting]:
    """The settings of one section, by key, in declaration order."""
    return {s.key: s for s in all_settings() if s.section == name}


def find(name: str) -> Setting:
    """`limit` or `web.max_concurrency`."""
    for setting in all_settings():
        if setting.name == name:
            return setting
    raise KeyError(name)
