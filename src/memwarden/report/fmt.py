"""Human figures for the report: sizes in MiB/GiB, times relative (+1h05m) and absolute (UTC)."""

from __future__ import annotations

import math
import time
from html import escape

MIB = 1024**2
GIB = 1024**3
# 1-2-5 steps in seconds for the time axis, from a second to a week.
TIME_STEPS_S = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
)


def esc(text: object) -> str:
    """Everything that came from a trace or snapshot goes through here (text and attributes)."""
    return escape(str(text), quote=True)


def size(size_bytes: float | None, *, signed: bool = False) -> str:
    if size_bytes is None:
        return "–"
    sign = ("+" if size_bytes >= 0 else "−") if signed else ("−" if size_bytes < 0 else "")
    value = abs(size_bytes)
    if value >= GIB:
        return f"{sign}{value / GIB:.2f} GiB"
    if value >= 100 * MIB:
        return f"{sign}{value / MIB:.0f} MiB"
    if value >= MIB:
        return f"{sign}{value / MIB:.1f} MiB"
    if value >= 1024:
        return f"{sign}{value / 1024:.0f} KiB"
    return f"{sign}{value:.0f} B"


def axis_size(size_bytes: float) -> str:
    """Tick labels: as short as the step allows (`256 MiB`, `1.5 GiB`)."""
    if size_bytes >= GIB:
        return f"{size_bytes / GIB:.2f}".rstrip("0").rstrip(".") + " GiB"
    if size_bytes >= MIB or size_bytes == 0:
        return f"{size_bytes / MIB:.1f}".rstrip("0").rstrip(".") + " MiB"
    return f"{size_bytes / 1024:.0f} KiB"


def relative(seconds: float, *, plus: bool = True) -> str:
    """`+45s`, `+12m30s`, `+3h05m`, `+1d02h`."""
    sign = "+" if plus and seconds >= 0 else ("−" if seconds < 0 else "")
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.0f}s" if s >= 1 or s == 0 else f"{sign}{s * 1000:.0f}ms"
    if s < 3600:
        minutes, rest = divmod(round(s), 60)
        return f"{sign}{minutes}m" + (f"{rest:02d}s" if rest else "")
    if s < 86400:
        hours, rest = divmod(round(s / 60), 60)
        return f"{sign}{hours}h" + (f"{rest:02d}m" if rest else "")
    days, rest = divmod(round(s / 3600), 24)
    return f"{sign}{days}d" + (f"{rest:02d}h" if rest else "")


def clock(unix_s: float, *, with_date: bool = False) -> str:
    """Absolute time in UTC: the trace may come from another machine and timezone."""
    pattern = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return time.strftime(pattern, time.gmtime(unix_s))


def count(n: int, noun: str) -> str:
    """`1 restart`, `2 restarts`, `0 OOM kills`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def rate(bytes_per_h: float, *, like: float | None = None) -> str:
    """In the unit the terminal uses for the same figure (per s, min or h by magnitude)."""
    from memwarden.units import format_rate

    return format_rate(bytes_per_h / 3600.0, like=None if like is None else like / 3600.0)


def nice_step(span: float, target_ticks: int, steps: tuple[float, ...] | None = None) -> float:
    """A step that gives about `target_ticks` ticks: from `steps`, or 1-2-5 × 10^k."""
    raw = span / max(target_ticks, 1)
    if steps is not None:
        return float(next((s for s in steps if s >= raw), steps[-1] * math.ceil(raw / steps[-1])))
    if raw <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * magnitude) for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def size_ticks(top_bytes: float, target_ticks: int = 6) -> list[float]:
    """Tick values from 0 to top in round MiB (or GiB) steps."""
    unit = GIB if top_bytes >= 4 * GIB else MIB
    step = nice_step(top_bytes / unit, target_ticks) * unit
    count = int(top_bytes // step)
    return [i * step for i in range(count + 1)]
