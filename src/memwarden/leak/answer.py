"""The leak answer a supervised program gives `memwarden run`: its guardian's latest leak
attribution, as a small JSON file at the path in MEMWARDEN_LEAK_ANSWER (the supervisor sets
it for each program, in a private directory of its own).

The guardian writes it when it attributes a leak; the supervisor reads it while it sees the
same program leaking, and puts the culprit in its own log line and event.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ANSWER_ENV = "MEMWARDEN_LEAK_ANSWER"
MAX_ANSWER_BYTES = 64 * 1024  # a hostile or broken file is not read whole
ANSWER_KEYS = ("culprit", "classification", "advice", "owner_path", "growing_type",
               "top_site", "held_by_c", "rate_bytes_per_h")


def write_answer(figures: dict[str, Any], environ: dict[str, str] | None = None) -> Path | None:
    """Write figures for the supervisor, if one asked (0600, atomic); None when not."""
    env = os.environ if environ is None else environ
    target = env.get(ANSWER_ENV)
    if not target:
        return None
    from memwarden.leak.snapshot import write_json_private

    document = {key: figures.get(key) for key in ANSWER_KEYS}
    document["pid"] = os.getpid()
    return write_json_private(Path(target), document)


def read_answer(path: Path, pid: int) -> dict[str, Any] | None:
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
