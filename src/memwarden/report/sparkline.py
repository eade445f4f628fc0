"""Unicode block sparklines for terminals (`memwarden monitor`); no imports beyond the stdlib."""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = " "  # an unknown figure (None) shows as a gap, never as a zero


def sparkline(
    values: Sequence[float | None],
    width: int | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
) -> str:
    """One block character per value, at most `width` characters.

    A longer series is cut into `width` buckets and each bucket shows its maximum: for memory
    the peaks are what hurts, and averaging would hide them. `low`/`high` fix the scale (e.g.
    0 and the limit); by default the series' own minimum and maximum are used.
    """
    if width is not None and width <= 0:
        return ""
    points = _bucket_max(values, width) if width is not None and len(values) > width else values
    known = [v for v in points if v is not None]
    if not known:
        return GAP * len(points)
    bottom = min(known) if low is None else low
    top = max(known) if high is None else high
    span = top - bottom
    chars = []
    for value in points:
        if value is None:
            chars.append(GAP)
        elif span <= 0:
            chars.append(BLOCKS[0])  # a flat series sits on the floor
        else:
            ratio = min(max((value - bottom) / span, 0.0), 1.0)
            chars.append(BLOCKS[round(ratio * (len(BLOCKS) - 1))])
    return "".join(chars)


def _bucket_max(values: Sequence[float | None], width: int) -> list[float | None]:
    count = len(values)
    buckets: list[float | None] = []
    for index in range(width):
        start, stop = index * count // width, (index + 1) * count // width
        known = [v for v in values[start:stop] if v is not None]
        buckets.append(max(known) if known else None)
    return buckets
