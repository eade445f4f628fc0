"""One precedence rule for every section: flag or argument > environment > file > default.

`resolve(section, layers)` checks every given key (unknown ones are refused with the nearest
known key), converts each value with its setting's converter, and remembers where each came
from, so `memwarden config` can show it and errors name the key as the user wrote it:
`--interval`, `MEMWARDEN_INTERVAL`, `interval` (top level) or `web.max_body` (a table).
"""

from __future__ import annotations

from memwarden.errors import ConfigError
from memwarden.settings.registry import section as section_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from memwarden.settings.registry import Setting

# Sources, weakest first.
DEFAULT, FILE, ENV, FLAG, ARGUMENT = "default", "file", "env", "flag", "argument"


class Layer:
    """Raw values from one source; `names` says how the user spelled each key there."""

    __slots__ = ("names", "source", "values")

    def __init__(self, source: str, values: dict[str, Any], names: dict[str, str]) -> None:
        self.source, self.values, self.names = source, values, names


class Resolved:
    """Typed values by key, each with (source, name as given, raw value)."""

    __slots__ = ("origins", "settings", "values")

    def __init__(self, settings: dict[str, Setting]) -> None:
        self.settings = settings
        self.values: dict[str, Any] = {}
        self.origins: dict[str, tuple[str, str, Any]] = {}

    def name(self, key: str) -> str:
        return self.origins[key][1]

    def given(self, key: str) -> tuple[str, Any]:
        """(the key as the user spelled it, the value as given) for error lines."""
        _source, name, raw = self.origins[key]
        return name, raw

    def fields(self, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """{field: value} for the typed config object."""
        wanted = self.values if keys is None else keys
        return {self.settings[k].field: self.values[k] for k in wanted}


def suggest(key: str, known: Iterable[str]) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"unknown key; did you mean {close[0]}?" if close else "unknown key"


def unknown(name: str, key: str, value: Any, known: Iterable[str]) -> ConfigError:
    return ConfigError(name, value, suggest(key, known))


def file_layer(section: str, table: Mapping[str, Any], where: str,
               skip: Iterable[str] = ()) -> Layer:
    """A TOML table; `where` prefixes names ("" for top level, "web." for [web])."""
    settings = section_settings(section)
    skipped = set(skip)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in skipped:
            continue
        if key not in settings:
            raise unknown(where + key, key, value, settings)
        values[key] = value
    return Layer(FILE, values, {k: where + k for k in values})


def env_layer(section: str, environ: Mapping[str, str]) -> Layer:
    """Each setting's variable, else its first old name that is set; an empty value is unset."""
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for key, setting in section_settings(section).items():
        for name in (setting.env, *setting.aliases):
            if name and environ.get(name, "").strip():
                values[key], names[key] = environ[name], name
                break
    return Layer(ENV, values, names)


def given_layer(section: str, given: Mapping[str, Any], source: str = ARGUMENT,
                old_keys: Mapping[str, str] | None = None) -> Layer:
    """Flags (None: not given) or keyword arguments; `old_keys` maps older spellings."""
    settings = section_settings(section)
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for raw_key, value in given.items():
        if value is None:
            continue
        key = (old_keys or {}).get(raw_key, raw_key)
        where = "" if section == "guard" else section + "."
        if key not in settings:
            raise unknown(where + raw_key, raw_key, value, settings)
        flag = settings[key].flag or "--" + key.replace("_", "-")
        values[key] = value
        names[key] = flag if source == FLAG else where + raw_key
    return Layer(source, values, names)


def resolve(section: str, layers: Iterable[Layer], *,
            keys: Iterable[str] | None = None) -> Resolved:
    """Later layers win; every setting of the section (or `keys`) gets a value."""
    settings = section_settings(section)
    resolved = Resolved(settings)
    for key in keys if keys is not None else settings:
        setting = settings[key]
        resolved.values[key] = setting.typed_default()
        resolved.origins[key] = (DEFAULT, setting.name, setting.default)
    for layer in layers:
        for key, raw in layer.values.items():
            if keys is not None and key not in resolved.values:
                continue
            name = layer.names[key]
            resolved.values[key] = settings[key].convert(raw, name)
            resolved.origins[key] = (layer.source, name, raw)
    return resolved
