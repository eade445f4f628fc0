"""Healthy: a batch job every 2 minutes holds 60 MB for 15 s, then releases it."""

from __future__ import annotations

KIND = "ok"
OWNER = None
EXPECT = None
RATE = 0

current_batch: list[bytearray] = []


def step(i: int) -> None:
    phase = i % 120
    if phase == 0:
        current_batch.extend(bytearray(1024 * 1024) for _ in range(60))
    elif phase == 15:
        current_batch.clear()
