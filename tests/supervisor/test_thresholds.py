"""Tier thresholds as v1 eventfds at the usage matching tree RSS, in a real owned cgroup."""

from __future__ import annotations

import subprocess
import sys

from memwarden.policy import Tier
from memwarden.supervisor.cgroupctl import OwnedCgroup
from memwarden.supervisor.thresholds import EARLY_BYTES, REARM_SLACK_BYTES, UsageThresholds
from tests.supervisor.lossless_helpers import wait_readable

MIB = 1024**2
GROW = """
import sys
held = []
for line in sys.stdin:
    held.append(bytearray(int(line) * 2**20))
    held[-1][::4096] = b"x" * len(held[-1][::4096])
    print("ok", flush=True)
"""


def test_armed_below_the_rss_threshold_by_the_offset_and_fires_on_the_crossing(
        owned_group: OwnedCgroup) -> None:
    armed_fds: list[int] = []
    closed_fds: list[int] = []
    thresholds = UsageThresholds(owned_group.path, armed_fds.append, closed_fds.append)
    child = subprocess.Popen([sys.executable, "-c", GROW], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True,
                             preexec_fn=owned_group.preexec)
    try:
        assert child.stdin is not None and child.stdout is not None
        base = owned_group.usage_bytes()
        # RSS counts 5 MiB that usage does not: each event sits 5 MiB below its threshold.
        assert thresholds.arm({Tier.WARN: base + 45 * MIB, Tier.RESTART: base + 85 * MIB,
                               Tier.CRITICAL: None}, 5 * MIB)
        assert {t: u for t, (u, _e) in thresholds.armed.items()} == {
            Tier.WARN: base + 40 * MIB - EARLY_BYTES, Tier.RESTART: base + 80 * MIB - EARLY_BYTES}
        assert len(armed_fds) == 2 and thresholds.covers([Tier.WARN, Tier.RESTART], base)
        assert not thresholds.covers([Tier.CRITICAL], base)  # not armed: the poll watches it
        # Same thresholds, a small drift: nothing re-armed. A drift past the slack re-arms.
        assert not thresholds.arm({Tier.WARN: base + 45 * MIB, Tier.RESTART: base + 85 * MIB},
                                  5 * MIB + REARM_SLACK_BYTES // 2)
        assert thresholds.arm({Tier.WARN: base + 45 * MIB, Tier.RESTART: base + 85 * MIB},
                              5 * MIB + 2 * REARM_SLACK_BYTES)
        drift = 2 * REARM_SLACK_BYTES
        assert thresholds.armed[Tier.WARN][0] == base + 40 * MIB - drift - EARLY_BYTES
        assert len(closed_fds) == 2 and len(armed_fds) == 4
        warn_event = thresholds.armed[Tier.WARN][1]
        child.stdin.write("50\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ok"
        assert wait_readable(warn_event)
        thresholds.drain()
        usage = owned_group.usage_bytes()
        assert not thresholds.covers([Tier.WARN], usage)  # spent: the crossing is behind
        assert thresholds.covers([Tier.RESTART], usage)
    finally:
        child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        thresholds.close()
    assert len(closed_fds) == 4 and not thresholds.armed
