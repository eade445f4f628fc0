"""Real gunicorn, 2 workers: a worker over its max finishes its requests and is replaced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import child_env
from tests.workers.workers_helpers import (
    WSGI_APP,
    SlowRequests,
    alive,
    free_port,
    get,
    recycle_while_slow_request_completes,
    serving,
    wait_until,
    worker_pids,
)

pytest.importorskip("gunicorn")


def start_gunicorn(tmp_path: Path, reaper: list[subprocess.Popen[bytes]], *args: str
                   ) -> tuple[subprocess.Popen[bytes], str, Path]:
    (tmp_path / "wsgiapp.py").write_text(WSGI_APP)
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        master = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:memwarden.workers.gunicorn",
             "--workers", "2", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "60",
             "--chdir", str(tmp_path), "--no-control-socket", *args, "wsgiapp:app"],
            env=child_env(MEMWARDEN_WORKER_MAX_MEMORY="120M", SLOW_DIR=str(tmp_path)),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    reaper.append(master)
    return master, f"http://127.0.0.1:{port}", log_path


def test_gthread_worker_drains_then_is_replaced(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    master, base_url, log_path = start_gunicorn(
        tmp_path, reaper, "--worker-class", "gthread", "--threads", "4")
    slow = SlowRequests(base_url, tmp_path)
    try:
        target = recycle_while_slow_request_completes(
            master, base_url, slow,
            # Logged by post_request right before it calls worker.handle_exit.
            lambda pid: f"worker pid {pid} (gunicorn)" in log_path.read_text())
    finally:
        slow.close()
    log = log_path.read_text()
    assert f"worker pid {target} (gunicorn) tree RSS" in log and "over its max 120.0 MiB" in log
    assert master.poll() is None  # the arbiter itself is untouched


def test_sync_worker_exits_after_the_request(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    master, base_url, log_path = start_gunicorn(tmp_path, reaper)
    wait_until(lambda: len(worker_pids(master)) == 2 and serving(base_url), "2 workers serving")
    status, body = get(base_url + "/alloc")
    assert status == 200
    pid = int(body)
    wait_until(lambda: not alive(pid), f"worker {pid} to exit")
    wait_until(lambda: len(worker_pids(master)) == 2 and pid not in worker_pids(master),
               "a replacement worker")
    assert all(get(base_url + "/pid")[0] == 200 for _ in range(4))
    assert f"worker pid {pid} (gunicorn)" in log_path.read_text()
