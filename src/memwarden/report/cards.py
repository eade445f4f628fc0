"""Summary cards: the six figures a reader should take in before looking at anything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memwarden.report import fmt
from memwarden.report.fmt import esc
from memwarden.report.summary import Summary


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    title: str
    value: str
    detail: str
    status: str  # good | warn | bad | neutral: the card's colour
    hover: str = ""  # the long story, as a tooltip


def cards(summary: Summary, start_s: float) -> list[Card]:
    limit = summary.limit_bytes
    series = summary.series

    def share(size_bytes: int | None) -> str:
        if size_bytes is None or not limit:
            return ""
        return f"{size_bytes / limit:.0%} of the limit"

    peak_at = ""
    if summary.peak_time_s is not None:
        peak_at = (f" at {fmt.relative(summary.peak_time_s - start_s)} "
                   f"({fmt.clock(summary.peak_time_s)} UTC)")
    peak_status = _level_status(summary.peak_bytes, series.last("warn"), series.last("critical"))
    end_tier = next((t for t in reversed(series.tiers) if t is not None), None)
    return [
        Card("peak", "Peak", fmt.size(summary.peak_bytes),
             (share(summary.peak_bytes) + peak_at).strip(), peak_status),
        Card("limit", "Limit", fmt.size(limit),
             "no limit known" if limit is None else f"from {series.limit_source or 'the trace'}",
             "neutral"),
        Card("headroom", "Headroom at end", fmt.size(summary.headroom_bytes),
             (f"{summary.headroom_bytes / limit:.0%} of the limit free, tier {end_tier or '–'}"
              if summary.headroom_bytes is not None and limit
              else "needs a limit" if limit is None else "no figure at the end"),
             {"ok": "good", "warn": "warn", "critical": "bad", "restart": "bad"}.get(
                 end_tier or "", "neutral") if summary.headroom_bytes is not None else "neutral"),
        _leak_card(summary),
        Card("restarts", "Restarts", str(summary.restarts),
             f"{'graceful restart' if summary.restarts == 1 else 'graceful restarts'} in this "
             "trace", "warn" if summary.restarts else "good"),
        Card("oom", "OOM kills", str(summary.oom_kills),
             "killed by the kernel, no grace" if summary.oom_kills else "none: good",
             "bad" if summary.oom_kills else "good"),
    ]


def _level_status(size_bytes: int | None, warn: int | None, critical: int | None) -> str:
    if size_bytes is None or warn is None:
        return "neutral"
    if critical is not None and size_bytes >= critical:
        return "bad"
    return "warn" if size_bytes >= warn else "good"


def _leak_card(summary: Summary) -> Card:
    """The rate (in the terminal's unit) and, when the leak watch named one, the culprit."""
    view = summary.trend
    trend = view.trend
    detected = [e for e in summary.leak_events if e.figures.get("phase") != "cleared"]
    named = next((e.figures for e in reversed(detected) if describe_culprit(e.figures)), {})
    # The card says what; its tooltip says where and how much.
    culprit_note = f"; culprit: {describe_culprit(named, short=True)}" if named else ""
    culprit_full = f"\nculprit: {describe_culprit(named)}" if named else ""
    if trend is None or (not trend.leaking and detected):
        # The leak watch saw what this trace's fit cannot (a window before a restart): its
        # own figures are the evidence.
        rate = _number(detected[-1].figures.get("rate_bytes_per_h")) if detected else None
        if rate is not None:
            detail = (f"reported by the leak watch {fmt.count(len(detected), 'time')}"
                      + culprit_note)
            return Card("leak", "Leak", fmt.rate(rate), detail, "bad",
                        detail.replace("; ", "\n") + culprit_full)
        value = "Too short" if view.note.startswith("not enough") else "No trend"
        return Card("leak", "Leak", value, view.note, "neutral")
    low, high = trend.rate_low_bytes_per_h, trend.rate_high_bytes_per_h
    ci = (f"95% CI {fmt.rate(low, like=trend.rate_bytes_per_h)} to "
          f"{fmt.rate(high, like=trend.rate_bytes_per_h)}")
    eta = "the floor is rising"
    if trend.leaking and trend.eta_s is not None:  # a flat series' ETA is noise, not news
        eta = f"limit in {fmt.relative(trend.eta_s, plus=False)}"
    since = f"; fit over the last {fmt.relative(trend.window_s, plus=False)}"
    if view.fitted_from_s is not None:
        since += " (since the last restart)"
    reason: str = getattr(trend, "reason", "")  # newer Trend versions say why
    detail = (eta if trend.leaking else "the floor is flat") + culprit_note
    hover = (detail + f"; {ci}" + since + (f". {reason}" if reason else "")).replace(
        "; ", "\n") + culprit_full
    if trend.leaking:
        return Card("leak", "Leak", fmt.rate(trend.rate_bytes_per_h), detail, "bad", hover)
    return Card("leak", "Leak", "No leak", detail, "good", hover)


def describe_culprit(figures: dict[str, Any], *, short: bool = False) -> str:
    """The leak watch's top grower in plain words, `service.processed_records (set) in
    memwarden.demo.app, +2,010,334 items, +38.1 MiB in 40s` (its module last; short:
    `service.processed_records (set)`); else the culprit line it wrote (a growing type, a
    C extension's memory)."""
    owner, growth = figures.get("top_owner"), figures.get("top_owner_growth")
    if not isinstance(owner, str) or not owner:
        culprit = figures.get("culprit")
        return culprit if isinstance(culprit, str) else ""
    module, _, path = owner.rpartition(":")
    rest = growth.removeprefix(owner).strip() if isinstance(growth, str) else ""
    kind, _, change = rest.partition(") ") if rest.startswith("(") else ("", "", rest)
    what = path + (f" {kind})" if kind else "")
    if short:
        return what
    return what + (f" in {module}" if module else "") + (f", {change}" if change else "")


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def cards_html(items: list[Card]) -> str:
    out = ['<div class="cards">']
    for card in items:
        hover = f' title="{esc(card.hover)}"' if card.hover else ""
        out.append(f'<div class="card card-{card.key} {card.status}"{hover}>'
                   f'<div class="card-title">{esc(card.title)}</div>'
                   f'<div class="card-value">{esc(card.value)}</div>'
                   f'<div class="card-detail">{esc(card.detail)}</div></div>')
    out.append("</div>")
    return "\n".join(out)
