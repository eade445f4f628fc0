"""Pieces shared by the CLI commands: one error voice, colour, exit codes, option metavars."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import IO, Any, ParamSpec, TypeVar

import click

from memwarden.errors import MemwardenError
from memwarden.exitcodes import EXIT_USAGE

P = ParamSpec("P")
R = TypeVar("R")

# Help placeholders, the same in every command.
SIZE = "SIZE"  # 512M, 1.5G
THRESHOLD = "THRESHOLD"  # a size or a percentage of the limit: 400M, 85%, off
DURATION = "DURATION"  # 100ms, 10s, 2m, off


def colour(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    stream = stream if stream is not None else sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def styled(text: str, stream: IO[str] | None = None, **style: Any) -> str:
    return click.style(text, **style) if colour(stream) else text


def error_line(message: str) -> str:
    """`memwarden: error: message`, with `error:` in red on a terminal."""
    return f"memwarden: {styled('error:', sys.stderr, fg='red', bold=True)} {message}"


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """One line on stderr, then exit with `code`."""
    click.echo(error_line(message), err=True, color=colour(sys.stderr))
    raise SystemExit(code)


def usage_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn memwarden's own errors into a one-line message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MemwardenError as err:
            fail(str(err))
        raise AssertionError("unreachable")  # fail() always exits

    return wrapper


def click_error_message(err: click.ClickException) -> str:
    """Click's own errors (unknown option, bad value) in memwarden's voice, with a hint."""
    message = err.format_message().rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.UsageError) and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message
