"""Healthy: an LRU cache fills up to its bound (~40 MB), then evicts."""

from __future__ import annotations

from collections import OrderedDict

KIND = "ok"
OWNER = None
EXPECT = None
RATE = 0
MAX_ENTRIES = 300

cache: OrderedDict[int, bytes] = OrderedDict()


def step(i: int) -> None:
    for n in range(4):
        key = i * 4 + n
        cache[key] = bytes(128 * 1024)
        if len(cache) > MAX_ENTRIES:
            cache.popitem(last=False)
