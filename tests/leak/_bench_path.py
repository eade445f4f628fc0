"""Import me before `leaks`: the leak scenarios live under bench/leaks (not a test package).

(Not a conftest.py: tests/conftest.py is imported as `conftest` by other areas' tests.)
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
