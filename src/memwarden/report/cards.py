"""Summary cards: the six figures a reader should take in before looking at anything else."""

from __future__ import annotations

from dataclasses import dataclass

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
             "graceful restarts in this trace", "warn" if summary.restarts else "good"),
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
    view = summary.trend
    trend = view.trend
    reported = len(summary.leak_events)
    reported_note = f"; {reported} leak event{'s' if reported != 1 else ''} in the trace"
    if trend is None:
        value = "Reported" if reported else "No trend"
        if not reported and view.note.startswith("not enough"):
            value = "Too short"
        return Card("leak", "Leak", value, view.note + (reported_note if reported else ""),
                    "bad" if reported else "neutral")
    low, high = trend.rate_low_bytes_per_h, trend.rate_high_bytes_per_h
    rate = (f"{fmt.rate(trend.rate_bytes_per_h)} "
            f"(CI {fmt.size(low, signed=True)} to {fmt.size(high, signed=True)})")
    eta = ""
    if trend.leaking and trend.eta_s is not None:  # a flat series' ETA is noise, not news
        eta = f"; limit in {fmt.relative(trend.eta_s, plus=False)}"
    since = f"; fit over the last {fmt.relative(trend.window_s, plus=False)}"
    if view.fitted_from_s is not None:
        since += " (since the last restart)"
    reason: str = getattr(trend, "reason", "")  # newer Trend versions say why
    detail = rate + eta + (reported_note if reported else "")
    hover = (detail + since + (f". {reason}" if reason else "")).replace("; ", "\n")
    if trend.leaking:
        return Card("leak", "Leak", "Leaking", detail, "bad", hover)
    return Card("leak", "Leak", "No leak" if not reported else "Reported", detail,
                "bad" if reported else "good", hover)


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
