"""A logging handler added on every call (instead of once at start-up)."""

from __future__ import annotations

import io
import logging

KIND = "leak"
OWNER = "leaks.logger_handler:log.handlers"
EXPECT = "python_heap"
RATE = 50 * 2500

log = logging.getLogger("leaks.logger_handler")
log.propagate = False


def handle(n: int) -> None:
    handler = logging.StreamHandler(io.StringIO())  # the bug: a new handler per call
    handler.setLevel(logging.ERROR)
    log.addHandler(handler)
    log.debug("handled %d", n)


def step(i: int) -> None:
    for n in range(50):
        handle(i * 100 + n)
