"""Leak scenarios: one small program per module, driven one simulated second per `step(i)`.

Each module declares KIND ("leak" or "ok"), OWNER (the owner path the census must name first,
or None), EXPECT (the classification expected for a leak, or None) and RATE (a nominal growth
per step in bytes, for the table). Run them all with `python bench/leak_scenarios.py`, or one
with `python bench/leak_scenarios.py --one <name>` (JSON).
"""

from __future__ import annotations

import importlib
from types import ModuleType

LEAKS = ("unbounded_set", "request_dict", "lru_method", "listeners", "logger_handler",
         "stored_exceptions", "bytes_buffer", "native_rss")
NON_LEAKS = ("sawtooth", "warmup_plateau", "bounded_cache", "batch_spikes")
ALL = LEAKS + NON_LEAKS


def load(name: str) -> ModuleType:
    if name not in ALL:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(ALL)}")
    return importlib.import_module(f"leaks.{name}")
