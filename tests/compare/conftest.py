"""Puts the harness (bench/compare) and its children's protocol module on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

COMPARE = Path(__file__).resolve().parents[2] / "bench" / "compare"
for path in (COMPARE, COMPARE / "children"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
