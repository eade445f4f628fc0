"""What many tests share: the repository's paths and a subprocess environment that imports
this checkout's memwarden."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SRC = REPO_ROOT / "src"
BENCH = REPO_ROOT / "bench"


def child_env(**extra: str) -> dict[str, str]:
    """os.environ with this checkout's src first on PYTHONPATH (works installed or not)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SRC), env.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env


def memwarden_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "memwarden", *args]
