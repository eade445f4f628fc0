"""functools.lru_cache on a method: the cache key holds `self`, so every instance lives on."""

from __future__ import annotations

import functools

KIND = "leak"
OWNER = "leaks.lru_method:PriceQuote.total"
EXPECT = "python_heap"
RATE = 200 * 1200  # 200 quotes per step, each with its price table


class PriceQuote:
    def __init__(self, customer: int) -> None:
        self.customer = customer
        self.prices = [float(n) for n in range(100)]

    @functools.cache  # noqa: B019 - the bug this scenario demonstrates
    def total(self, quantity: int) -> float:
        return sum(self.prices) * quantity


def step(i: int) -> None:
    for n in range(200):
        PriceQuote(i * 1000 + n).total(3)
