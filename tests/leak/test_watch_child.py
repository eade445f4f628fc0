"""End to end: a real leaking child under the guardian logs a leak with the right owner."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import child_env

CHILD = textwrap.dedent(
    """
    import logging, sys, threading
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
    import memwarden

    class SyncService:
        def __init__(self):
            self.processed_records = set()

    service = SyncService()
    guardian = memwarden.start(interval="50ms", limit="4G")
    watch = guardian.leak_watch  # memwarden.start() attaches the leak watch
    pause = threading.Event()
    n = 0
    while watch.attribution is None and n < 100_000:
        n += 1
        service.processed_records.update(f"record-{n}-{i}" for i in range(200))
        pause.wait(0.005)
    watch.wait_idle()
    print("done", n, flush=True)
    """
)


def test_leaking_child_gets_leak_events(tmp_path: Path,
                                        reaper: list[subprocess.Popen[bytes]]) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
        env=child_env(MEMWARDEN_LEAK_MIN_WINDOW="8s", MEMWARDEN_LEAK_TRACE_WINDOW="1s"),
    )
    reaper.append(child)
    out, _ = child.communicate(timeout=120)
    text = out.decode()
    assert child.returncode == 0, text
    detected = [line for line in text.splitlines() if "floor rising" in line]
    assert len(detected) == 2, text  # "detected", then "attributed"
    assert "reaches the limit in" in detected[0]
    assert "culprit: __main__:service.processed_records (set)" in detected[1], text
    assert "python_heap" in detected[1], text
    assert "done" in text
