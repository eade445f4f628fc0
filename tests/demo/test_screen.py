"""The live block on a terminal: milestones stay, the status block is redrawn in place."""

from __future__ import annotations

import io
import time

from memwarden.demo.load import LoadStats
from memwarden.demo.screen import Screen
from memwarden.demo.story import Story

MIB = 2**20


def _sample(t: float, measured: int, tier: str = "ok") -> dict[str, object]:
    return {"type": "sample", "t": t, "measured_bytes": measured, "limit_bytes": 256 * MIB,
            "tier": tier, "thresholds_bytes": {"warn": 179 * MIB, "critical": 217 * MIB}}


def test_block_redrawn_under_milestones() -> None:
    now = time.time()
    story = Story(started_s=now)
    for i in range(20):
        story.trace_record(_sample(now + i, (40 + 5 * i) * MIB))
    story.trace_record({"type": "event", "t": now + 10, "kind": "leak", "message": "leak",
                        "figures": {"phase": "detected", "rate_bytes_per_h": 3600 * 5 * MIB,
                                    "rate_low_bytes_per_h": 3600 * 4 * MIB,
                                    "rate_high_bytes_per_h": 3600 * 6 * MIB, "eta_s": 30.0}})
    out = io.StringIO()
    screen = Screen(live=True, colour=False, out=out)
    screen.update(story, LoadStats(sent=10, ok=10), 20.0, 60.0)
    first = out.getvalue()
    # The unit the report uses for the same figure.
    assert "leak detected: +5.0 MiB/s (95% CI +4.0 MiB/s to +6.0 MiB/s)" in first
    assert "135.0 MiB of 256.0 MiB (53%)" in first
    assert "10 ok · 0 failed" in first
    block_lines = len(screen.block(story, LoadStats(), 20.0, 60.0))

    story.supervisor_event({"type": "event", "t": now + 21, "kind": "restart",
                            "source": "supervisor:webhooks", "message": "not read",
                            "figures": {"reason": "memory",
                                        "detail": "tree RSS 243 MiB reached ..."}})
    screen.update(story, LoadStats(sent=12, ok=12), 21.0, 60.0)
    second = out.getvalue()[len(first):]
    # Cursor up over the old block, erase it, then the new milestone, then the new block.
    assert second.startswith(f"\x1b[{block_lines}F\x1b[J")
    assert "graceful restart (memory): tree RSS 243 MiB reached ..." in second
    assert "12 ok" in second and "restarts 1" in second
    assert "leak detected" not in second  # printed once, it stays above


def test_plain_output_has_no_escape_codes() -> None:
    story = Story(started_s=time.time())
    story.trace_record(_sample(story.started_s, 50 * MIB))
    out = io.StringIO()
    Screen(live=False, colour=False, out=out).update(story, LoadStats(), 1.0, 60.0)
    assert "\x1b" not in out.getvalue() and "50.0 MiB of 256.0 MiB" in out.getvalue()
