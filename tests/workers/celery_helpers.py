"""A real redis-server on loopback (random port, no persistence) and a Celery app module."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CELERY_APP = '''
import os, resource
from celery import Celery
from memwarden.readers.tree import read_tree_memory
from memwarden.workers.celery import install

app = Celery("celeryapp", broker=os.environ["BROKER_URL"], backend=os.environ["BROKER_URL"])
app.conf.update(worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)
install(app)  # MEMWARDEN_WORKER_MAX_MEMORY
HOLD = []

@app.task
def whoami():
    return os.getpid()

@app.task
def hog(mb):
    HOLD.append(b"x" * (mb * 1024 * 1024))
    return os.getpid()

@app.task
def spike(mb):
    block = b"x" * (mb * 1024 * 1024)
    del block  # a large object is munmap'ed: RSS falls back, the peak stays
    peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return [os.getpid(), peak_bytes, read_tree_memory(os.getpid()).rss_bytes]
'''


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [redis_server_path() or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
