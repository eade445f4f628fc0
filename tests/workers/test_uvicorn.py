"""Real `uvicorn --workers 2`: RecycleMiddleware makes a worker over its max drain and exit,
and uvicorn's multiprocess supervisor starts a replacement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import child_env
from tests.workers.workers_helpers import (
    ASGI_APP,
    SlowRequests,
    alive,
    free_port,
    get,
    recycle_while_slow_request_completes,
    serving,
    wait_until,
    worker_pids,
)

pytest.importorskip("uvicorn")


def shutting_down(log_path: Path, pid: int) -> bool:
    """uvicorn logged "Shutting down" after memwarden's line for pid."""
    text = log_path.read_text()
    mark = text.find(f"worker pid {pid} (uvicorn)")
    return mark >= 0 and "Shutting down" in text[mark:]


def test_uvicorn_worker_drains_then_is_replaced(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    (tmp_path / "asgiapp.py").write_text(ASGI_APP)
    port = free_port()
    log_path = tmp_path / "uvicorn.log"
    with open(log_path, "wb") as log:
        master = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1",
             "--port", str(port), "--app-dir", str(tmp_path), "--no-access-log", "asgiapp:app"],
            env=child_env(MEMWARDEN_WORKER_MAX_MEMORY="120M", SLOW_DIR=str(tmp_path)),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    reaper.append(master)
    slow = SlowRequests(f"http://127.0.0.1:{port}", tmp_path)
    try:
        target = recycle_while_slow_request_completes(
            master, f"http://127.0.0.1:{port}", slow, lambda pid: shutting_down(log_path, pid))
    finally:
        slow.close()
    text = log_path.read_text()
    assert f"worker pid {target} (uvicorn) tree RSS" in text
    assert f"Child process [{target}] died" in text  # the supervisor noticed and replaced it
    assert master.poll() is None


def test_gunicorn_uvicorn_worker_recycled_by_the_watcher(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    """UvicornWorker never calls post_request: post_worker_init's watcher thread sends SIGTERM."""
    pytest.importorskip("gunicorn")
    (tmp_path / "asgiapp.py").write_text(ASGI_APP)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        master = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:memwarden.workers.gunicorn",
             "--workers", "2", "--worker-class", "uvicorn.workers.UvicornWorker",
             "--bind", f"127.0.0.1:{port}", "--chdir", str(tmp_path), "--no-control-socket",
             "asgiapp:inner"],  # the bare app: only the watcher can recycle
            env=child_env(MEMWARDEN_WORKER_MAX_MEMORY="120M", SLOW_DIR=str(tmp_path),
                          MEMWARDEN_WORKER_CHECK_INTERVAL="100ms"),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    reaper.append(master)
    wait_until(lambda: len(worker_pids(master)) == 2 and serving(base_url), "2 workers serving")
    status, body = get(base_url + "/alloc")
    assert status == 200
    pid = int(body)
    wait_until(lambda: not alive(pid), f"worker {pid} to exit")
    wait_until(lambda: len(worker_pids(master)) == 2 and pid not in worker_pids(master)
               and serving(base_url), "a replacement worker")
    assert f"worker pid {pid} (gunicorn)" in log_path.read_text()
    assert master.poll() is None
