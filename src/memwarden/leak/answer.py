"""The leak answer a supervised program gives `memwarden run`: its guardian's latest leak
attribution, as a small JSON file at the path in MEMWARDEN_LEAK_ANSWER (the supervisor sets
it for each program, in a private directory of its own).

The guardian writes it when it attributes a leak; the supervisor reads it while it sees the
same program leaking, and puts the culprit in its own log line and event.

Beside it, `<answer>.own` holds "PID BYTES": memwarden's own memory in the program (the RSS
its census added, a tracemalloc window's tables), rewritten when it moves by OWN_STEP_BYTES.
The supervisor takes it out of the tree RSS it judges, as the guardian does from its own
series: a guardian that suspects a leak must not make the supervisor see one.

Lean: `memwarden run` imports this module (no typing or pathlib at run time).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

ANSWER_ENV = "MEMWARDEN_LEAK_ANSWER"
OWN_SUFFIX = ".own"
OWN_STEP_BYTES = 256 * 1024  # a smaller move is not worth a write (the verdict needs 2 MiB)
MAX_OWN_CHARS = 64  # "PID BYTES": longer is not ours
MAX_ANSWER_BYTES = 64 * 1024  # a hostile or broken file is not read whole
ANSWER_KEYS = ("culprit", "classification", "advice", "owner_path", "growing_type",
               "top_site", "held_by_c", "rate_bytes_per_h")


def write_answer(figures: dict[str, Any], environ: dict[str, str] | None = None) -> Path | None:
    """Write figures for the supervisor, if one asked (0600, atomic); None when not."""
    env = os.environ if environ is None else environ
    target = env.get(ANSWER_ENV)
    if not target:
        return None
    from pathlib import Path

    from memwarden.leak.snapshot import write_json_private

    document = {key: figures.get(key) for key in ANSWER_KEYS}
    document["pid"] = os.getpid()
    return write_json_private(Path(target), document)


class OwnBytesNote:
    """The guardian's side of `<answer>.own`: update() each sample, written on a step."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        target = (os.environ if environ is None else environ).get(ANSWER_ENV)
        self.path = target + OWN_SUFFIX if target else None
        self.told_bytes = 0

    def update(self, own_bytes: int) -> None:
        """Raises OSError (the caller says so once and stops: see disable())."""
        if self.path is None or abs(own_bytes - self.told_bytes) < OWN_STEP_BYTES:
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {own_bytes}\n")
        os.replace(tmp, self.path)  # the reader sees the old figure or the new, never half
        self.told_bytes = own_bytes

    def disable(self) -> None:
        self.path = None


def read_own_bytes(path: str, pid: int) -> int | None:
    """memwarden's own bytes in process pid, or None (absent, another pid's, not two numbers)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_OWN_CHARS + 1)
    except OSError:
        return None
    fields = raw.split()
    if len(raw) > MAX_OWN_CHARS or len(fields) != 2 or not all(x.isdigit() for x in fields):
        return None
    return int(fields[1]) if int(fields[0]) == pid else None


def read_answer(path: str | Path, pid: int) -> dict[str, Any] | None:
    """The answer written by process pid, or None (absent, another pid's, not JSON)."""
    import json

    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_ANSWER_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_ANSWER_BYTES:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("pid") != pid:
        return None
    culprit = document.get("culprit")
    return document if isinstance(culprit, str) else None
