"""The numeric converters: sizes, durations, fractions, thresholds and whole numbers, each
with its range. Values are bounded by `units` (at most 15 digits, no nan or inf) before any
arithmetic, then checked against the range, which the error line and the reference quote.
"""

from __future__ import annotations

from memwarden.errors import ConfigError
from memwarden.settings.types import Converter, MiB, short_duration, short_size
from memwarden.units import parse_duration, parse_fraction, parse_size, parse_threshold

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_SIZE_BYTES = 1024**5  # 1 PiB: above any machine's memory, far below float trouble
MAX_DURATION_S = 366 * 86400.0


class Size(Converter):
    metavar = "SIZE"

    def __init__(self, minimum: int = MiB, maximum: int = MAX_SIZE_BYTES, *,
                 off: bool = False) -> None:
        super().__init__(off=off)
        self.minimum, self.maximum = minimum, maximum
        self.what = f"a size from {short_size(minimum)} to {short_size(maximum)} (e.g. 512M)"

    def parse(self, value: Any, key: str) -> int:
        try:
            size_bytes = parse_size(value, key=key)
        except ConfigError:
            raise self.refuse(key, value) from None
        if size_bytes < self.minimum:
            plain = isinstance(value, int) or str(value).strip().isdigit()
            if plain and self.minimum >= MiB:
                raise ConfigError(key, value, f"{value} bytes is below {short_size(self.minimum)}"
                                              f"; did you mean {str(value).strip()}M?")
            raise self.refuse(key, value)
        if size_bytes > self.maximum:
            raise self.refuse(key, value)
        return size_bytes

    def show(self, value: Any) -> str:
        return "off" if value is None else short_size(int(value))


class Duration(Converter):
    metavar = "DURATION"

    def __init__(self, minimum: float = 0.0, maximum: float = MAX_DURATION_S, *,
                 off: bool = False) -> None:
        super().__init__(off=off)
        self.minimum, self.maximum = minimum, maximum
        low = "0s" if minimum == 0 else short_duration(minimum)
        self.what = f"a duration from {low} to {short_duration(maximum)} (e.g. 100ms, 10s, 1h)"

    def parse(self, value: Any, key: str) -> float:
        try:
            seconds = parse_duration(value, key=key)
        except ConfigError:
            raise self.refuse(key, value) from None
        if not self.minimum <= seconds <= self.maximum:
            raise self.refuse(key, value)
        return seconds

    def show(self, value: Any) -> str:
        return "off" if value is None else short_duration(float(value))


class Fraction(Converter):
    metavar = "FRACTION"
    what = "a fraction from 0 to below 1, such as 0.05 or 5%"

    def parse(self, value: Any, key: str) -> float:
        try:
            return parse_fraction(value, key=key)
        except ConfigError:
            raise self.refuse(key, value) from None

    def show(self, value: Any) -> str:
        return f"{float(value):g}"


class Threshold(Converter):
    """`85%` of the effective limit, or a size; off by default allowed."""

    metavar = "THRESHOLD"
    what = "a percentage above 0% and at most 100%, or a size of at least 1M"

    def __init__(self, *, off: bool = True) -> None:
        super().__init__(off=off)

    def parse(self, value: Any, key: str) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                return parse_threshold(value, key=key)
            except ConfigError:
                raise self.refuse(key, value) from None
        from memwarden.units import Threshold as Level

        try:
            return Level(size_bytes=Size().parse(value, key))
        except ConfigError as err:
            if "did you mean" in err.reason:
                raise  # a bare 512: the hint is the better answer
            raise self.refuse(key, value) from None  # says that a percentage would do too

    def show(self, value: Any) -> str:
        if value is None or value.size_bytes is None:
            return super().show(value)
        return short_size(value.size_bytes)


class Int(Converter):
    metavar = "N"

    def __init__(self, minimum: int = 0, maximum: int = 1_000_000, *, off: bool = False) -> None:
        super().__init__(off=off)
        self.minimum, self.maximum = minimum, maximum
        self.what = f"a whole number from {minimum} to {maximum}"

    def parse(self, value: Any, key: str) -> int:
        text = str(value).strip()
        # ASCII digits and a length cap: int() also takes "١٢", and str.isdigit() takes "²".
        digits = text[1:] if text.startswith("-") else text
        if (isinstance(value, bool) or not isinstance(value, int | str) or not digits.isascii()
                or not digits.isdigit() or len(text) > 12):
            raise self.refuse(key, value)
        number = int(text)
        if not self.minimum <= number <= self.maximum:
            raise self.refuse(key, value)
        return number
