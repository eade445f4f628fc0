"""Pieces shared by the CLI commands: errors to exit codes, pid checks, option types."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import click

from memwarden.errors import ConfigError, MemwardenError, NoSuchProcessError, ProcessAccessError
from memwarden.exitcodes import EXIT_USAGE

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """One line on stderr, then exit with `code`."""
    click.echo(f"memwarden: error: {message}", err=True)
    raise SystemExit(code)


def usage_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn memwarden's own errors into a one-line message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, NoSuchProcessError, ProcessAccessError) as err:
            fail(str(err))
        except MemwardenError as err:
            fail(str(err))
        raise AssertionError("unreachable")  # fail() always exits

    return wrapper


def config_arguments(**options: Any) -> dict[str, Any]:
    """Drop options the user did not give, so env and TOML still apply."""
    return {key: value for key, value in options.items() if value is not None}
