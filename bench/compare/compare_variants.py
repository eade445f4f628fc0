"""Each peer's detection knob at its default and at its fastest accepted value (pure).

The tables show every peer both ways, so a reader sees it as it ships and at its best;
memwarden runs at its own default (`memwarden run --interval`, 100 ms; it accepts 10 ms-1 s).
Values come from the peers' own sources and docs, at the versions pinned in compare_sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "default"
FASTEST = "fastest"
LABELS = (DEFAULT, FASTEST)
# PM2 and circus set no lower bound; no peer is run faster than memwarden's own floor.
MEMWARDEN_FLOOR_MS = 10


@dataclass(frozen=True)
class Variant:
    tool: str  # a run.py tool key: pm2, supervisord, circus
    label: str  # DEFAULT or FASTEST
    setting: str  # the knob's value exactly as the tool takes it
    shown: str  # the value as the row name shows it
    why: str  # where the value comes from, for the settings table
    max_count: int = 0  # circus only: breaches in a row tolerated before a restart


VARIANTS: tuple[Variant, ...] = (
    Variant("pm2", DEFAULT, "30000", "30 s",
            "`PM2_WORKER_INTERVAL` unset: 30000 ms (`constants.js`)"),
    Variant("pm2", FASTEST, str(MEMWARDEN_FLOOR_MS), f"{MEMWARDEN_FLOOR_MS} ms",
            f"`PM2_WORKER_INTERVAL={MEMWARDEN_FLOOR_MS}`: PM2 takes any value (the check is a "
            "plain `setInterval`, which Node clamps to 1 ms; a round still running skips the "
            f"next); {MEMWARDEN_FLOOR_MS} ms is the floor memwarden itself accepts"),
    Variant("supervisord", DEFAULT, "TICK_60", "TICK_60",
            "`events=TICK_60`, the tick superlance's memmon documentation configures"),
    Variant("supervisord", FASTEST, "TICK_5", "TICK_5",
            "`events=TICK_5`, the fastest tick supervisord emits (TICK_5, TICK_60, TICK_3600)"),
    Variant("circus", DEFAULT, "60", "60 s, 4th breach",
            "`loop_rate` unset: 60 s; `max_count` unset: 3, so the restart comes on the 4th "
            "breach in a row (`resource_watcher.py`)", max_count=3),
    Variant("circus", FASTEST, f"{MEMWARDEN_FLOOR_MS / 1000:g}", f"{MEMWARDEN_FLOOR_MS} ms",
            f"`loop_rate={MEMWARDEN_FLOOR_MS / 1000:g}`, `max_count=0` (restart on the first "
            "breach): the plugin takes any period above 0 (a tornado `PeriodicCallback`); "
            f"{MEMWARDEN_FLOOR_MS} ms as for PM2"),
)


def variants(tool: str, labels: tuple[str, ...] = LABELS) -> tuple[Variant, ...]:
    return tuple(v for v in VARIANTS if v.tool == tool and v.label in labels)


def row_name(base: str, variant: Variant) -> str:
    """The row a peer's figures go under: its name, which setting, and the value."""
    return f"{base}, {variant.label} {variant.shown}"
