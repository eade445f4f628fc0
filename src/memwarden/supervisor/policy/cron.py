"""A tiny 5-field cron matcher (minute hour day-of-month month day-of-week) for --restart-at.

Supports `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n`; day-of-week 0-7
(0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted a day matches if
either does. Times are local time, as cron's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from memwarden.errors import ConfigError

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
_MAX_MINUTES = 366 * 24 * 60 * 5  # a schedule such as "Feb 30" never fires: stop looking


@dataclass(frozen=True, slots=True)
class CronSchedule:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def next_after(self, now_s: float) -> float | None:
        """Unix time of the first matching minute strictly after now_s; None if none in 5 years."""
        minute_s = (int(now_s) // 60 + 1) * 60
        for _ in range(_MAX_MINUTES):
            when = time.localtime(minute_s)
            if when.tm_mon not in self.months or not self._day_ok(when):
                # jump to the next local midnight; DST shifts are absorbed by re-reading localtime
                minute_s += ((23 - when.tm_hour) * 60 + (60 - when.tm_min)) * 60
                continue
            if when.tm_hour not in self.hours:
                minute_s += (60 - when.tm_min) * 60
                continue
            if when.tm_min in self.minutes:
                return float(minute_s)
            minute_s += 60
        return None

    def _day_ok(self, when: time.struct_time) -> bool:
        weekday = (when.tm_wday + 1) % 7
        day_ok, weekday_ok = when.tm_mday in self.days, weekday in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


def _parse_field(text: str, low: int, high: int, expr: str, key: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                start_text, end_text = base.split("-", 1)
                start, end = int(start_text), int(end_text)
            else:
                start = end = int(base)
                if step_text:
                    end = high
        except ValueError:
            raise ConfigError(key, expr, f"bad cron field {text!r}") from None
        if step < 1 or not low <= start <= end <= high:
            raise ConfigError(key, expr, f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expr: str, *, key: str = "restart_at") -> CronSchedule:
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(key, expr, "expected 5 cron fields: minute hour day month weekday")
    parsed = [
        _parse_field(text, low, high, expr, key)
        for text, (_, low, high) in zip(fields, _FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in parsed[4])
    return CronSchedule(
        text=expr,
        minutes=parsed[0],
        hours=parsed[1],
        days=parsed[2],
        months=parsed[3],
        weekdays=weekdays,
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
    )
