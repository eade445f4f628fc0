"""Kernel thresholds at the number the policy watches: v1 eventfds on an owned group's usage.

The policy compares the tree's RSS; the kernel can only watch the group's usage, and the two
differ (RSS counts shared libraries charged to other groups, usage counts page cache): here
RSS is ~5 MiB higher, so an eventfd armed at the RSS threshold fires ~50 ms late at
100 MiB/s and the poll decides instead. Each tier's eventfd is armed at the usage that
corresponds to its threshold, `threshold - (rss - usage)`, with the offset measured at each
full sample and re-armed when it drifts by REARM_SLACK_BYTES.

A v1 threshold fires in both directions, but the kernel checks thresholds only every 128
pages charged per CPU: up to ~0.5-0.75 MB after the crossing, 25 ms late at 20 MiB/s. So each
eventfd is armed EARLY_BYTES before its level; the loop then looks at the tree every few ms
until it crosses (monitor.py's follow-ups).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from memwarden.policy import Tier

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from memwarden.supervisor.notify import CgroupV1Event

REARM_SLACK_BYTES = 512 * 1024
EARLY_BYTES = 2 * 1024 * 1024


class UsageThresholds:
    """One eventfd per tier threshold; `on_armed(fd)`/`on_closed(fd)` keep the loop's
    selector in step with the fds."""

    def __init__(self, group_dir: Path, on_armed: Callable[[int], None],
                 on_closed: Callable[[int], None]) -> None:
        self.group_dir = group_dir
        self._on_armed = on_armed
        self._on_closed = on_closed
        self.offset_bytes: int | None = None
        self.armed: dict[Tier, tuple[int, CgroupV1Event]] = {}  # tier -> (usage bytes, event)
        self._thresholds: dict[Tier, int] = {}

    def arm(self, thresholds_bytes: dict[Tier, int | None], offset_bytes: int) -> bool:
        """(Re-)arm when the thresholds changed or the offset drifted; True when it did.

        Raise NotifyUnavailable when the kernel refuses (the old events are closed then).
        """
        wanted = {tier: t for tier, t in thresholds_bytes.items() if t is not None}
        drift = (None if self.offset_bytes is None
                 else abs(offset_bytes - self.offset_bytes))
        if wanted == self._thresholds and drift is not None and drift < REARM_SLACK_BYTES:
            return False
        from memwarden.supervisor.notify import CgroupV1Event

        self.close()
        self._thresholds, self.offset_bytes = wanted, offset_bytes
        for tier, threshold in wanted.items():
            usage_bytes = max(1, threshold - offset_bytes - EARLY_BYTES)
            event = CgroupV1Event(self.group_dir, threshold_bytes=usage_bytes)
            self.armed[tier] = (usage_bytes, event)
            self._on_armed(event.fileno())
        return True

    def covers(self, tiers: list[Tier], usage_bytes: int) -> bool:
        """Whether an event will fire before the figure reaches each of these tiers: each is
        armed and usage is still below its level (a crossing already spent fires no more)."""
        return all(tier in self.armed and usage_bytes < self.armed[tier][0] for tier in tiers)

    def events(self) -> list[CgroupV1Event]:
        return [event for _usage, event in self.armed.values()]

    def drain(self) -> None:
        for event in self.events():
            event.drain()

    def close(self) -> None:
        for event in self.events():
            self._on_closed(event.fileno())
            with contextlib.suppress(OSError):
                event.close()
        self.armed.clear()
