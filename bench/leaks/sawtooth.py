"""Healthy: work buffers pile up for 20 s, then are released (a ~20 MB sawtooth)."""

from __future__ import annotations

KIND = "ok"
OWNER = None
EXPECT = None
RATE = 0

batch: list[bytearray] = []


def step(i: int) -> None:
    if i % 20 == 0:
        batch.clear()
    batch.extend(bytearray(256 * 1024) for _ in range(4))  # mmap'd: freed back at once
