"""Healthy: a lookup table is loaded during the first minute, then memory stays level."""

from __future__ import annotations

KIND = "ok"
OWNER = None
EXPECT = None
RATE = 0

table: dict[int, bytes] = {}
scratch: list[bytearray] = []


def step(i: int) -> None:
    if i < 60:
        for n in range(8):
            table[i * 8 + n] = bytes(128 * 1024)  # 1 MiB per step for a minute
    if i % 10 == 0:
        scratch.clear()
    scratch.append(bytearray(512 * 1024))
