"""The guardian in a real child: tier transitions, cache cleared at critical, shutdown hook
and exit status on restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from memwarden.exitcodes import EXIT_MEMORY_RESTART
from tests.helpers import REPO_ROOT, child_env

STEPPER = r"""
import json, logging, os, sys, threading
import memwarden

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(message)s")
cache = {}
out = sys.argv[1]
events = []

def save():
    with open(out, "w") as f:
        json.dump({"cache_len_at_shutdown": len(cache), "events": events}, f)

memwarden.on_pressure(cache)
memwarden.on_shutdown(save)
def boom():
    raise RuntimeError("a failing hook must not stop the others")
memwarden.on_shutdown(boom)
g = memwarden.start(limit="1G", warn="150M", critical="250M", restart="350M",
                    interval="20ms", metric="tree_rss")
g.events.subscribe(lambda e: events.append([e.kind, e.tier, e.figures.get("step")]))
held = []
step = 0
while True:
    step += 1
    # 10 MiB a step: 5 to the cache (cleared at critical), 5 held forever
    cache[step] = bytearray(5 * 2**20)
    held.append(bytearray(5 * 2**20))
    threading.Event().wait(0.01)
"""


def test_guardian_walks_tiers_cleans_up_and_exits_for_restart(tmp_path: Path) -> None:
    out = tmp_path / "state.json"
    script = tmp_path / "stepper.py"
    script.write_text(STEPPER)
    proc = subprocess.run(
        [sys.executable, str(script), str(out)],
        env=child_env(),
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == EXIT_MEMORY_RESTART, proc.stdout + proc.stderr
    state = json.loads(out.read_text())
    tiers = [tier for kind, tier, _ in state["events"] if kind == "tier"]
    # Rising through every tier in order (the cache clear may drop a tier in between).
    assert tiers[0] == "warn"
    assert "critical" in tiers
    assert tiers[-1] == "restart"
    assert tiers.index("warn") < tiers.index("critical") < tiers.index("restart")
    steps = [step for kind, _, step in state["events"] if kind == "action"]
    assert "gc.collect" in steps
    assert any(s and s.startswith("hook:") for s in steps), steps
    # The cache was cleared at critical, so it holds far fewer entries than steps taken.
    assert state["cache_len_at_shutdown"] < 20
    log = proc.stdout
    assert "memory tier ok -> warn" in log
    assert "exiting with status 75" in log
    assert "shutdown hook" in log and "failed" in log  # the raising hook was logged
    assert "RuntimeError" in proc.stderr + proc.stdout


def test_bundled_leaky_example_restarts_with_state_saved(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "leaky_app.py")],
        env=child_env(LEAKY_STATE_PATH=str(state), LEAKY_STEP_S="0.01",
                      MEMWARDEN_LIMIT="150M"),
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == EXIT_MEMORY_RESTART, proc.stdout + proc.stderr
    assert "memory tier ok -> warn" in proc.stdout
    assert "-> restart" in proc.stdout
    assert json.loads(state.read_text())["requests_served"] > 0
