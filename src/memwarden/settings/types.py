"""The converters every setting uses: raw text (flag, env, TOML value) -> a checked value.

This module holds the base and the converters of words (booleans, choices, texts, URLs,
paths, custom parsers); settings.numbers holds sizes, durations, fractions and counts.

Each converter knows what it accepts, in words (`accepts`), which is both the end of the
error line (`interval='1ms': expected a duration from 10ms to 1s`) and the reference's range
column. Numbers are bounded by `units` before any arithmetic; "off" is `units.OFF_WORDS`.
Kept free of typing, click and tomllib: the lean supervisor imports it.
"""

from __future__ import annotations

from memwarden.errors import ConfigError
from memwarden.units import FALSE_WORDS, TRUE_WORDS, format_bytes, format_duration, is_off

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MiB = 1024**2


def short_size(size_bytes: int) -> str:
    for unit, factor in (("P", 1024**5), ("T", 1024**4), ("G", 1024**3), ("M", MiB), ("K", 1024)):
        if size_bytes >= factor and size_bytes % factor == 0:
            return f"{size_bytes // factor}{unit}"
    return format_bytes(size_bytes)


def short_duration(seconds: float) -> str:
    if seconds == 0:
        return "0s"
    for unit, factor in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= factor and (seconds / factor).is_integer():
            return f"{int(seconds / factor)}{unit}"
    return format_duration(seconds)



class Converter:
    """Base: `off=True` lets an off word (or TOML false) mean None."""

    metavar = "VALUE"
    what = "a value"

    def __init__(self, *, off: bool = False) -> None:
        self.off = off

    def __call__(self, value: Any, key: str) -> Any:
        if self.off and is_off(value):
            return None
        try:
            return self.parse(value, key)
        except ConfigError as err:
            if err.key == key and err.value is value:
                raise
            # One bad item of a repeated flag or a TOML list is named alone, not the whole list.
            named = err.value if isinstance(value, list | tuple) and err.value in value else value
            raise ConfigError(key, named, err.reason) from None

    def parse(self, value: Any, key: str) -> Any:
        return value

    @property
    def accepts(self) -> str:
        return self.what + (", or off" if self.off else "")

    def refuse(self, key: str, value: Any) -> ConfigError:
        reason = "expected " + self.accepts
        if self.off and not isinstance(value, bool) and str(value).strip() in ("0", "0.0"):
            reason += " (0 does not mean off)"  # `--limit 0` is refused, not "no limit"
        return ConfigError(key, value, reason)

    def show(self, value: Any) -> str:
        """A typed value as a user would write it (for `memwarden config` and the reference)."""
        if value is None:
            return "off" if self.off else "-"
        return str(value) if value != "" else '""'


class Bool(Converter):
    metavar = "BOOL"
    what = "true or false (on/off, yes/no, 1/0)"

    def parse(self, value: Any, key: str) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise self.refuse(key, value)

    def show(self, value: Any) -> str:
        return "true" if value else "false"


class Choice(Converter):
    metavar = "CHOICE"

    def __init__(self, *choices: str) -> None:
        super().__init__()
        self.choices = choices
        self.what = "one of " + ", ".join(choices)

    def parse(self, value: Any, key: str) -> str:
        text = str(value).strip().lower()
        if text in self.choices:
            return text
        if text.replace("-", "_") in self.choices:
            return text.replace("-", "_")
        raise self.refuse(key, value)


class Text(Converter):
    """A string; `empty_is_none` lets "" mean unset (a token, a URL)."""

    metavar = "TEXT"

    def __init__(self, what: str = "a text", *, max_length: int = 4096,
                 empty_is_none: bool = False) -> None:
        super().__init__()
        self.what, self.max_length, self.empty_is_none = what, max_length, empty_is_none

    def parse(self, value: Any, key: str) -> str | None:
        if not isinstance(value, str) or len(value) > self.max_length or "\0" in value:
            raise self.refuse(key, value)
        if self.empty_is_none and not value.strip():
            return None
        return value

class Url(Text):
    metavar = "URL"

    def __init__(self) -> None:
        super().__init__("an http:// or https:// URL", empty_is_none=True)

    def parse(self, value: Any, key: str) -> str | None:
        text = super().parse(value, key)
        if text is None:
            return None
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(text.strip())
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            ok = False
        if not ok:
            raise self.refuse(key, value)
        return text.strip()


class FilePath(Converter):
    """A path; `need` is "file" (must be a file when it exists), "dir", or "parent" (its
    directory must exist, for files memwarden creates)."""

    metavar = "PATH"

    def __init__(self, need: str = "parent", *, empty_is_none: bool = True) -> None:
        super().__init__()
        self.need, self.empty_is_none = need, empty_is_none
        self.metavar = {"dir": "DIR", "any": "PATH"}.get(need, "FILE")
        self.what = {"file": "a path to a file", "dir": "a path to a directory",
                     "parent": "a path in an existing directory", "any": "a path"}[need]

    def parse(self, value: Any, key: str) -> Any:
        import os
        from pathlib import Path

        if not isinstance(value, str) or "\0" in value or len(value) > 4096:
            raise self.refuse(key, value)
        if not value.strip():
            if self.empty_is_none:
                return None
            raise self.refuse(key, value)
        path = Path(os.path.expanduser(value))
        if self.need == "file" and path.is_dir():
            raise ConfigError(key, value, "expected a file, found a directory")
        if self.need == "dir" and path.exists() and not path.is_dir():
            raise ConfigError(key, value, "expected a directory, found a file")
        if self.need == "parent":
            if path.is_dir():
                raise ConfigError(key, value, "expected a file path, found a directory")
            if not path.parent.is_dir():
                raise ConfigError(key, value, f"no such directory: {path.parent}")
        return path


class Custom(Converter):
    """A parser defined next to the code that uses it (a cron line, a PSI trigger, a signal):
    `parse(value, key)` raising ConfigError; `accepts` words what it takes."""

    def __init__(self, parse: Callable[[Any, str], Any], accepts: str, *, metavar: str = "VALUE",
                 off: bool = False, show: Callable[[Any], str] | None = None) -> None:
        super().__init__(off=off)
        self._parse, self.what, self.metavar, self._show = parse, accepts, metavar, show

    def parse(self, value: Any, key: str) -> Any:
        return self._parse(value, key)

    def show(self, value: Any) -> str:
        if value is None:
            return "off" if self.off else "-"
        return self._show(value) if self._show is not None else str(value)
