"""Exceptions stored for a later report: their tracebacks keep every frame's locals alive."""

from __future__ import annotations

KIND = "leak"
OWNER = "leaks.stored_exceptions:failures"
EXPECT = "python_heap"
RATE = 20 * 17_000

failures: list[Exception] = []


def parse(payload_number: int) -> None:
    payload = bytes(16 * 1024)  # a local the traceback's frame keeps alive
    raise ValueError(f"bad payload {payload_number} ({len(payload)} bytes)")


def step(i: int) -> None:
    for n in range(20):
        try:
            parse(i * 100 + n)
        except ValueError as err:
            failures.append(err)  # the bug: err.__traceback__ pins parse()'s frame
