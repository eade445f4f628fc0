"""Files memwarden writes where others may write too (a shared log or trace directory).

`open_append` never follows a symlink at the last component (O_NOFOLLOW: another user cannot
point memwarden's trace at a file of theirs), and creates the file with a private mode:
TRACE_MODE 0600 (a trace names code and figures), LOG_MODE 0640 (a log may be read by an
operator's group). A file that exists already is opened as it is; a symlink is refused with
OSError (ELOOP).
"""

from __future__ import annotations

import os
from pathlib import Path

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

TRACE_MODE = 0o600
LOG_MODE = 0o640


def open_append(path: str | os.PathLike[str], mode: int, *, errors: str = "strict") -> TextIO:
    """Open path for appending text (UTF-8), created with `mode`; never through a symlink."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(Path(path), flags, mode)
    try:
        return os.fdopen(fd, "a", encoding="utf-8", errors=errors)
    except BaseException:
        os.close(fd)
        raise
