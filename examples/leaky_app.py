"""A leaky service under the in-process guardian: watch it walk the tiers and restart.

    python examples/leaky_app.py

Half of what it allocates goes to a cache that memwarden clears at `critical`; the other
half leaks. So it climbs to critical, gets cleaned up, climbs again, and finally reaches
`restart`: the shutdown hook saves its state and the process exits with status 75, the
status a supervisor (memwarden run, Kubernetes, systemd Restart=on-failure) restarts on.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading

import memwarden

STEP_BYTES = int(os.environ.get("LEAKY_STEP_BYTES", 2 * 1024 * 1024))
STEP_S = float(os.environ.get("LEAKY_STEP_S", "0.05"))
STATE_PATH = os.environ.get(
    "LEAKY_STATE_PATH", os.path.join(tempfile.gettempdir(), "leaky_app_state.json")
)

cache: dict[int, bytearray] = {}  # reclaimable: memwarden clears it under pressure
leaked: list[bytearray] = []  # the bug: grows forever
requests_served = 0


def save_state() -> None:
    with open(STATE_PATH, "w") as f:
        json.dump({"requests_served": requests_served, "cache_entries": len(cache)}, f)
    print(f"shutdown hook: saved state to {STATE_PATH} "
          f"(requests_served={requests_served})", flush=True)


def main() -> None:
    global requests_served
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stdout)
    memwarden.on_pressure(cache)
    memwarden.on_shutdown(save_state)
    memwarden.start(limit=os.environ.get("MEMWARDEN_LIMIT", "200M"), interval="100ms")
    print(f"leaky_app pid {os.getpid()}: leaking {STEP_BYTES // 2**20} MiB every "
          f"{STEP_S * 1000:.0f} ms (half cache, half leak)", flush=True)
    pause = threading.Event()
    while True:
        requests_served += 1
        cache[requests_served] = bytearray(STEP_BYTES // 2)
        leaked.append(bytearray(STEP_BYTES - STEP_BYTES // 2))
        pause.wait(STEP_S)


if __name__ == "__main__":
    main()
