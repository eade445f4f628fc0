"""Between full samples the guardian reads the tree, the cgroup's usage and the runtime
counters only; memory.stat, meminfo and PSI come with a full sample every FULL_EVERY_S."""

from __future__ import annotations

from memwarden.config import GuardConfig
from memwarden.guardian import Guardian
from memwarden.hooks import HookRegistry


def test_quick_ticks_keep_the_full_samples_figures_and_read_the_rest_afresh() -> None:
    guardian = Guardian(GuardConfig(metric="tree_rss"), registry=HookRegistry())
    first = guardian.tick()  # the first tick is a full one
    held = [bytearray(8 * 1024 * 1024) for _ in range(2)]
    for chunk in held:
        chunk[::4096] = b"\x01" * len(chunk[::4096])  # touched: it counts in RSS
    second = guardian.tick()
    assert second.system is first.system and second.pressure is first.pressure
    assert second.tree is not first.tree  # the tree is read every tick
    assert second.measured_bytes is not None and first.measured_bytes is not None
    assert second.measured_bytes >= first.measured_bytes + 15 * 1024 * 1024
    assert second.runtime is not None and first.runtime is not None
    assert second.runtime is not first.runtime  # the counters are read every tick
    assert second.monotonic_s > first.monotonic_s

    guardian._full_due_s = 0.0  # due now: the next tick is full
    third = guardian.tick()
    assert third.system is not second.system
    del held
