"""The "memwarden" logger, with `logging` imported on the first record.

`logging` costs a fresh interpreter ~2.3 MiB and ~20 ms (re, traceback, string...): the
in-process guardian, its leak watch and the snapshot signal log through this stand-in, so a
quiet start never loads it.
"""

from __future__ import annotations

# Not `from typing import ...` at run time: typing costs ~1.6 MiB.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class LazyLogger:
    """Every attribute is the real logger's (`log.warning(...)`), fetched on use."""

    __slots__ = ("_name",)

    def __init__(self, name: str = "memwarden") -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        import logging

        return getattr(logging.getLogger(self._name), attribute)


log = LazyLogger()
