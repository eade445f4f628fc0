"""The control socket (status, restart, stop) and the logs (prefix, JSON, files)."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.supervisor.sup_helpers import Running, child_env, memwarden_cmd, tagged_pids, wait_for

CHATTY = """
    import os, sys, threading
    print(f"hello from {os.getpid()}", flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    threading.Event().wait(600)
"""


def _status(sup: Running) -> dict:  # type: ignore[type-arg]
    result = sup.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_status_restart_stop_over_the_control_socket(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    sup = supervise("--limit", "300M", command=script("chatty", CHATTY))
    wait_for(sup.control.exists, what="the control socket")
    first = wait_for(lambda: (s := _status(sup))["programs"][0]["tree_rss_bytes"] and s,
                     what="a sampled status")
    assert isinstance(first, dict)
    program = first["programs"][0]
    assert program["name"] == "chatty" and program["state"] == "running"
    assert program["tier"] == "ok" and program["limit_bytes"] == 300 * 2**20
    assert stat.S_IMODE(sup.control.stat().st_mode) == 0o600
    table = sup.cli("status").stdout
    assert "chatty" in table and "running" in table and "300.0 MiB" in table

    assert sup.cli("restart", "chatty").returncode == 0
    sup.wait_log("started pid", count=2)
    after = _status(sup)["programs"][0]
    assert after["pid"] != program["pid"] and after["restarts"] == 1
    assert after["recent_restarts"][0]["reason"] == "manual"
    assert "manual: control socket" in sup.cli("status").stdout

    unknown = sup.cli("restart", "nope")
    assert unknown.returncode == 2 and "no program named 'nope'" in unknown.stderr
    assert sup.cli("stop", "chatty").returncode == 0
    assert sup.exit_code() == 0
    assert not tagged_pids(sup.tag) and not sup.control.exists()
    out = sup.out
    assert out.count("[chatty] hello from") == 2 and "[chatty] to stderr" in sup.log


def test_status_without_supervisor_fails(tmp_path: Path) -> None:
    result = subprocess.run(
        memwarden_cmd("status", "--control-socket", str(tmp_path / "none.sock")),
        env=child_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no memwarden supervisor answers" in result.stderr


def test_json_logs_and_log_dir(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    log_dir = tmp_path / "logs"
    crash = script("once", "print('line one', flush=True); raise SystemExit(4)")
    sup = supervise("--json", "--log-dir", str(log_dir), "--max-restarts", "1", command=crash)
    assert sup.exit_code() == 4  # errored: the program's own last status
    events = [json.loads(line) for line in sup.log.splitlines()]
    restart = next(e for e in events if e.get("reason") == "crash")
    assert restart["program"] == "once" and restart["level"] == "warning"
    assert "tree_rss_bytes" in restart and "limit_bytes" in restart
    outputs = [json.loads(line) for line in sup.out.splitlines()]
    assert {"program": "once", "stream": "stdout", "line": "line one"}.items() <= \
        outputs[0].items()
    program_log = (log_dir / "once.log").read_text().splitlines()
    assert len(program_log) == 2 and all(json.loads(x)["line"] == "line one" for x in program_log)
    assert "errored" in (log_dir / "memwarden.log").read_text()
