"""A command as one log line: shell quoting, with control characters escaped.

`python -c` with a multi-line script would otherwise break a log line in two. Arguments with a
newline, tab or other control character use bash's $'...' quoting, so the line can still be
pasted into a shell; every other argument is quoted as shlex.join does.
"""

from __future__ import annotations

import shlex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote_command(argv: Iterable[str]) -> str:
    return " ".join(_quote(arg) for arg in argv)


def _quote(arg: str) -> str:
    if arg.isprintable():
        return shlex.quote(arg)
    return "$'" + "".join(_escape(ch) for ch in arg) + "'"


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch.isprintable():
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else (
        f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
