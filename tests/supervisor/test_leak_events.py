"""`memwarden run` raises a leak event for a program whose tree RSS floor keeps rising."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.supervisor.sup_helpers import Running

# ~12 MiB/s, steadily, far below its limit: a leak, not yet a restart.
STEADY_LEAK = """
    import threading
    held, pause = [], threading.Event()
    print("leaking", flush=True)
    while len(held) < 1500:
        held.append(bytearray(256 * 1024))
        pause.wait(0.02)
    pause.wait(600)
"""

FLAT = """
    import threading
    held = bytearray(50 * 1024 * 1024)
    print("flat", flush=True)
    threading.Event().wait(600)
"""


def test_steady_growth_is_a_leak_event_flat_is_not_and_off_disables(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    # The flat and the switched-off programs start first: by the time the leaking one's event
    # is logged, they have had at least as much history.
    flat = supervise("--limit", "2G", "--interval", "50ms", "--leak-window", "2s",
                     command=script("flat", FLAT))
    off = supervise("--limit", "2G", "--interval", "50ms", "--leak-window", "off",
                    command=script("steady", STEADY_LEAK))
    flat.wait_log("flat", stream="out")
    off.wait_log("leaking", stream="out")
    sup = supervise("--limit", "2G", "--interval", "50ms", "--leak-window", "2s",
                    command=script("steady", STEADY_LEAK))
    log = sup.wait_log("leak: tree RSS floor rising")
    line = next(ln for ln in log.splitlines() if "leak: tree RSS floor rising" in ln)
    assert "[steady]" in line and "reaches the limit in" in line
    # The rate and its interval in one unit, chosen by magnitude (as the report does).
    assert re.search(r"floor rising [0-9.]+ [KMG]iB/(s|min|h) \([0-9.]+ [KMG]iB/(s|min|h) to ",
                     line), line
    assert "restart (" not in log
    for each in (sup, flat, off):
        assert each.cli("stop").returncode == 0
        assert each.exit_code() == 0
    assert "leak:" not in flat.log and "leak:" not in off.log
