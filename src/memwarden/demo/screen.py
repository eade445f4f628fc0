"""The demo's terminal output: milestone lines that stay, and on a TTY a compact status block
redrawn in place under them; otherwise (a pipe, --plain) a status line every few seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import click

from memwarden.demo.load import LoadStats
from memwarden.demo.story import Milestone, Story, describe_culprit
from memwarden.report.sparkline import sparkline
from memwarden.units import format_bytes

SPARK_WIDTH = 48
PLAIN_EVERY_S = 5.0
TIER_COLOURS = {"ok": "green", "warn": "yellow", "critical": "red", "restart": "magenta"}
MARKS = {"start": ("▶", "cyan"), "ready": ("✓", "green"), "leak": ("!", "yellow"),
         "culprit": ("?", "yellow"), "tier": ("▲", "yellow"), "shed": ("✋", "red"),
         "cleanup": ("~", "blue"), "restart": ("↻", "magenta"), "saved": ("💾", "cyan"),
         "restored": ("✓", "green")}


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def count(n: int) -> str:
    return f"{n:,}"


class Screen:
    def __init__(self, *, live: bool, colour: bool, out: TextIO | None = None) -> None:
        self.live = live
        self.colour = colour
        self.out = out or sys.stdout
        self._block_lines = 0
        self._shown = 0  # milestones already printed
        self._last_plain_s = float("-inf")

    def style(self, text: str, **styles: object) -> str:
        return click.style(text, **styles) if self.colour else text  # type: ignore[arg-type]

    def line(self, text: str) -> None:
        self._erase_block()
        self.out.write(text + "\n")
        self.out.flush()

    def update(self, story: Story, load: LoadStats, elapsed_s: float, duration_s: float) -> None:
        with story.lock:
            # The two sources (trace, supervisor log) are read at different moments.
            new = sorted(story.milestones[self._shown:], key=lambda m: m.time_s)
            self._shown = len(story.milestones)
            block = self.block(story, load, elapsed_s, duration_s)
        if self.live:
            self._erase_block()
            text = "".join(self.milestone(m, story.started_s) + "\n" for m in new)
            text += "".join(line + "\n" for line in block)
            self.out.write(text)
            self._block_lines = len(block)
        else:
            for m in new:
                self.out.write(self.milestone(m, story.started_s) + "\n")
            if elapsed_s - self._last_plain_s >= PLAIN_EVERY_S:
                self._last_plain_s = elapsed_s
                self.out.write(f"  [{clock(elapsed_s)}] " + " | ".join(
                    line.strip() for line in block[:1] + block[3:4]) + "\n")
        self.out.flush()

    def finish_live(self) -> None:
        self._block_lines = 0  # leave the last block on screen

    def _erase_block(self) -> None:
        if self.live and self._block_lines:
            self.out.write(f"\x1b[{self._block_lines}F\x1b[J")
            self._block_lines = 0

    def milestone(self, m: Milestone, started_s: float) -> str:
        mark, colour = MARKS.get(m.kind, ("·", "white"))
        when = self.style(clock(m.time_s - started_s), dim=True)
        return f"  {when}  {self.style(mark, fg=colour, bold=True)}  {m.text}"

    def _leak(self, story: Story) -> str:
        leak = story.leak
        if leak is None:
            return "watching the trend…"
        rate = float(leak.get("rate_bytes_per_h") or 0.0) / 3600.0
        text = f"+{format_bytes(int(rate))}/s"
        eta = leak.get("eta_s")
        if isinstance(eta, int | float):
            left_s = eta - (time.time() - float(leak["detected_at_s"]))
            text += f", limit in ~{max(0, round(left_s))}s"
        since = clock(float(leak["detected_at_s"]) - story.started_s)
        return text + self.style(f"  (detected at {since})", dim=True)

    def block(self, story: Story, load: LoadStats, elapsed_s: float,
              duration_s: float) -> list[str]:
        limit = story.limit_bytes
        latest = story.latest_bytes()

        def label(text: str) -> str:
            return self.style(f"{text:<9}", bold=True)

        tier = self.style(story.tier.upper(), fg=TIER_COLOURS.get(story.tier, "white"),
                          bold=True)
        spark = sparkline([v for _, v in story.samples], SPARK_WIDTH, low=0,
                          high=float(limit) if limit else None)
        share = f"{100 * latest / limit:.0f}%" if latest is not None and limit else "-"
        lines = [f"  {label('memory')}{self.style(spark, fg=TIER_COLOURS.get(story.tier))} "
                 f"{format_bytes(latest)} of {format_bytes(limit)} ({share})  {tier}"]
        lines.append(f"  {label('leak')}{self._leak(story)}")
        culprit = describe_culprit(story.culprit) if story.culprit else "not attributed yet"
        lines.append(f"  {label('culprit')}{culprit}")
        failed = self.style(f"{count(load.failed)} failed", fg="green" if not load.failed
                            else "red", bold=True)
        lines.append(f"  {label('load')}{count(load.ok)} ok · {failed} · "
                     f"{count(load.retries)} retried ({count(load.shed)}× 503 shed, "
                     f"{count(load.refused)}× refused while restarting)"
                     + (self.style("  SHEDDING", fg="red", bold=True) if story.shedding else ""))
        state = "not saved yet"
        if story.restored:
            # The save that preceded the latest restore (a later one is the final stop's).
            saved = story.saved[len(story.restored) - 1]["events_total"]
            state = (f"saved {count(saved)} events → restored "
                     f"{count(story.restored[-1]['events_total'])}")
        elif story.saved:
            state = f"saved {count(story.saved[-1]['events_total'])} events"
        lines.append(f"  {label('restarts')}{len(story.restarts)} · state {state}")
        bar = self.style(f"  {clock(elapsed_s)} / {clock(duration_s)}", dim=True)
        lines.append(bar)
        return lines
