"""The long-lived `memwarden run` process stays lean: what it imports, read with -X importtime.

Each module below costs the supervisor ~1-2 MB of RSS (measured with `python -S`); none is
needed once click has validated the options and the lean interpreter took over.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.supervisor.sup_helpers import Running

NOT_IN_THE_LEAN_SUPERVISOR = ("typing", "pickle", "tracemalloc", "click", "tomllib", "psutil",
                              "logging", "threading", "memwarden.alerts", "memwarden.trace")


def test_supervisor_with_every_default_imports_nothing_heavy(
    supervise: Callable[..., Running],
) -> None:
    sup = supervise("--limit", "512M", command=["sleep", "600"], PYTHONPROFILEIMPORTTIME="1")
    sup.wait_log("started pid")
    sup.wait_log("| memwarden.leak.detector")  # sampling and the leak detector are running
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    lines = sup.log.splitlines()
    # The lean interpreter's imports start with its own (second) import of supervisor.main.
    boot = max(i for i, line in enumerate(lines) if line.endswith("| memwarden.supervisor.main"))
    lean = {line.rsplit("|", 1)[1].strip() for line in lines[boot:] if "import time:" in line}
    assert "memwarden.supervisor.loop" in lean and "memwarden.leak.detector" in lean
    assert not sorted(lean & set(NOT_IN_THE_LEAN_SUPERVISOR))
