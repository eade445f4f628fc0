"""Click options generated from the registry (the CLI only: click stays out of the supervisor).

Every option is a plain string (or a `--x/--no-x` flag for booleans) whose default is None,
so "not given" is visible and the environment and file still apply; the registry's
converters do the checking, and the help shows the registry's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from memwarden.settings.registry import Setting, section
from memwarden.settings.types import Bool

F = TypeVar("F", bound=Callable[..., Any])


def flag_of(setting: Setting) -> str:
    return setting.flag or "--" + setting.key.replace("_", "-")


def default_text(setting: Setting) -> str:
    return setting.show(setting.typed_default())


def option_for(setting: Setting) -> Callable[[F], F]:
    flag = flag_of(setting)
    where = f"; env {setting.env}" if setting.env else ""
    help_text = f"{setting.help} [default: {default_text(setting)}{where}]"
    if isinstance(setting.conv, Bool):
        return click.option(f"{flag}/--no-{flag[2:]}", setting.key, default=None,
                            help=help_text)
    return click.option(flag, setting.key, metavar=setting.conv.metavar, default=None,
                        multiple=setting.multiple, help=help_text)


def setting_options(section_name: str, keys: Iterable[str] | None = None) -> Callable[[F], F]:
    """Decorate a command with the options of `keys` (default: the section's flagged ones)."""
    settings = section(section_name)
    chosen = [settings[k] for k in keys] if keys is not None else [
        s for s in settings.values() if s.flag]

    def decorate(fn: F) -> F:
        for setting in reversed(chosen):
            fn = option_for(setting)(fn)
        return fn

    return decorate


def given(options: dict[str, Any]) -> dict[str, Any]:
    """Click's values with "not given" as None (an empty tuple for a repeatable option)."""
    return {k: (list(v) if isinstance(v, tuple) else v) if v not in ((), None) else None
            for k, v in options.items()}
