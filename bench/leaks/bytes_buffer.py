"""An in-memory journal buffer that is appended to and never flushed."""

from __future__ import annotations

KIND = "leak"
OWNER = "leaks.bytes_buffer:journal"
EXPECT = "python_heap"
RATE = 64 * 1024

journal = bytearray()


def step(i: int) -> None:
    global journal
    record = f"{i:08d} ok\n".encode() * (64 * 1024 // 12)
    journal += record.ljust(64 * 1024, b".")  # the bug: never flushed or truncated
