"""The supervisor never dies of its own bug: every handler runs guarded.

A handler (a timer, a control request, a child's exit, a signal, an event callback) that
raises is logged with its traceback the first time, then once more at the 2nd, 4th, 8th ...
repeat of the same fault (same place, type and line), and the loop goes on. What cannot go
on (the loop's own wait failing again and again) raises Unrecoverable: the supervisor then
stops every program gracefully and exits 70 (EX_SOFTWARE).
"""

from __future__ import annotations

from collections.abc import Callable

from memwarden.supervisor.logs import LogSink

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_LOOP_FAILURES = 3  # the wait itself failing this many times in a row is not transient


class Unrecoverable(Exception):
    """The loop cannot go on; str() says why."""


class Guard:
    def __init__(self, sink: LogSink) -> None:
        self.sink = sink
        self.counts: dict[str, int] = {}
        self.loop_failures = 0  # consecutive failures of the loop's own wait

    def call(self, where: str, handler: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Run handler(*args, **kwargs); False (after reporting) when it raised."""
        try:
            handler(*args, **kwargs)
        except Exception as err:
            self.report(where, err)
            return False
        return True

    def report(self, where: str, err: BaseException) -> None:
        """Log err: its traceback the first time, a one-line count at each power of two."""
        import traceback  # only on a fault: the lean supervisor does not carry it otherwise

        frames = traceback.extract_tb(err.__traceback__)
        last = frames[-1] if frames else None
        place = f"{last.filename}:{last.lineno}" if last is not None else "?"
        key = f"{where}|{type(err).__name__}|{place}"
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        if count == 1:
            text = "".join(traceback.format_exception(err)).rstrip()
            self.sink.event("error", f"internal error in {where} (the supervisor carries on; "
                            f"please report it): {type(err).__name__}: {err}\n{text}",
                            where=where)
        elif count & (count - 1) == 0:
            self.sink.event("error", f"internal error in {where} again ({count} times): "
                            f"{type(err).__name__}: {err}", where=where)

    def loop_failed(self, err: BaseException) -> None:
        """The loop's own wait raised: report, and give up after MAX_LOOP_FAILURES in a row."""
        self.report("the loop", err)
        self.loop_failures += 1
        if self.loop_failures >= MAX_LOOP_FAILURES:
            raise Unrecoverable(f"the loop failed {self.loop_failures} times in a row: "
                                f"{type(err).__name__}: {err}") from err

    def loop_ok(self) -> None:
        self.loop_failures = 0
