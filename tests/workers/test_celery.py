"""Real Celery (prefork, concurrency 2) on a real redis-server: a child over its max is
replaced after its task, measured by current tree RSS, and no task is lost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import child_env
from tests.workers.celery_helpers import CELERY_APP, redis_server_path, start_redis
from tests.workers.workers_helpers import alive, free_port, wait_until, worker_pids

pytest.importorskip("celery")
pytest.importorskip("redis")
if redis_server_path() is None:
    pytest.skip("redis-server is not installed (Debian package redis-server)",
                allow_module_level=True)

MAX_MIB = 120
TIMEOUT_S = 60


@pytest.fixture
def celery_worker(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> Iterator[tuple[Any, subprocess.Popen[bytes], Path]]:
    import redis
    from celery import Celery

    port = free_port()
    reaper.append(start_redis(port, tmp_path))
    broker = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis(host="127.0.0.1", port=port)
    wait_until(lambda: _pings(client), "redis-server to answer PING")
    (tmp_path / "celeryapp.py").write_text(CELERY_APP)
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celeryapp", "worker", "--pool", "prefork",
             "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"memwarden-test-{port}@localhost"],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=child_env(BROKER_URL=broker, MEMWARDEN_WORKER_MAX_MEMORY=f"{MAX_MIB}M",
                          PYTHONPATH=f"{tmp_path}:{child_env()['PYTHONPATH']}"),
        )
    reaper.append(worker)
    app = Celery("client", broker=broker, backend=broker)
    app.conf.broker_connection_retry_on_startup = True
    yield app, worker, log_path
    app.close()
    client.close()


def _pings(client: Any) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def call(app: Any, name: str, *args: object) -> Any:
    return app.send_task(f"celeryapp.{name}", args=args)


def test_child_over_max_is_replaced_after_its_task(
    celery_worker: tuple[Any, subprocess.Popen[bytes], Path],
) -> None:
    app, worker, log_path = celery_worker
    assert isinstance(call(app, "whoami").get(timeout=TIMEOUT_S), int)
    wait_until(lambda: len(worker_pids(worker)) == 2, "2 prefork children")

    hog_pid = call(app, "hog", 2 * MAX_MIB).get(timeout=TIMEOUT_S)  # the result arrives
    wait_until(lambda: not alive(hog_pid), f"child {hog_pid} to be recycled")
    wait_until(lambda: len(worker_pids(worker)) == 2 and hog_pid not in worker_pids(worker),
               "a replacement child")

    # A burst mixing hogs and small tasks: every result arrives, every hog child is replaced.
    results = [call(app, "hog", 2 * MAX_MIB) for _ in range(3)]
    results += [call(app, "whoami") for _ in range(6)]
    pids = [r.get(timeout=TIMEOUT_S) for r in results]
    assert len(pids) == 9 and all(isinstance(p, int) for p in pids)
    for pid in pids[:3]:
        wait_until(lambda pid=pid: not alive(pid), f"hog child {pid} to be recycled")
    assert worker.poll() is None

    log = log_path.read_text()
    assert f"worker pid {hog_pid} (celery) tree RSS" in log
    assert "WorkerLostError" not in log and "Traceback" not in log


def test_freed_spike_is_not_mistaken_for_usage(
    celery_worker: tuple[Any, subprocess.Popen[bytes], Path],
) -> None:
    app, worker, _ = celery_worker
    pid, peak_bytes, tree_rss_bytes = call(app, "spike", 2 * MAX_MIB).get(timeout=TIMEOUT_S)
    max_bytes = MAX_MIB * 1024 * 1024
    # ru_maxrss, Celery's figure, still says "over"; the current tree RSS does not.
    assert peak_bytes > max_bytes > tree_rss_bytes
    for _ in range(6):  # more tasks through the pool after the spike's post-task check
        call(app, "whoami").get(timeout=TIMEOUT_S)
    assert alive(pid) and pid in worker_pids(worker)
