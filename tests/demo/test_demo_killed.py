"""`memwarden demo` killed with SIGKILL mid-run: its supervisor still stops the service, and
nothing the demo started is left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.supervisor.sup_helpers import child_env, memwarden_cmd, tagged_pids, wait_for

pytestmark = pytest.mark.slow


def test_a_demo_killed_with_sigkill_leaves_nothing_running(tmp_path: Path) -> None:
    tag = f"demo-killed-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen(
            memwarden_cmd("demo", "--plain", "--duration", "20s", "--out", str(tmp_path / "o")),
            env=child_env(MEMWARDEN_TEST_TAG=tag), stdout=sink, stderr=subprocess.STDOUT)
    try:
        # Readiness: the service answers under `memwarden run`, and the load has begun.
        wait_for(lambda: "ready on http://" in out.read_text(errors="replace"),
                 what="the demo's service ready")
        started = tagged_pids(tag) - {demo.pid}
        assert started  # the supervisor, its sentinel, the service
        demo.send_signal(signal.SIGKILL)
        assert demo.wait(30) == -signal.SIGKILL
        wait_for(lambda: not tagged_pids(tag), what="every process the demo started gone")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(30)
        for pid in tagged_pids(tag):  # never leave a failed run's processes behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
