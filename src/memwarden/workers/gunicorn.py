"""gunicorn: a worker over its max memory finishes what it is serving, exits, and is replaced.

Use it as the config module, or import the hooks into your own gunicorn.conf.py:

    MEMWARDEN_WORKER_MAX_MEMORY=300M gunicorn -c python:memwarden.workers.gunicorn app:app

    # gunicorn.conf.py
    from memwarden.workers.gunicorn import post_request, post_worker_init

After each request (post_request) the worker measures its own process tree. Over the max, it
takes gunicorn's graceful-exit path, the same as the arbiter's SIGTERM (`worker.handle_exit`):
the sync worker stops after this request; gthread and the async workers stop accepting and
finish every in-flight request (within graceful_timeout); the arbiter starts a replacement.
Unlike uWSGI's reload-on-rss, no other in-flight request is cut off.

Worker classes that never call post_request (uvicorn's UvicornWorker) get a watcher thread
instead, started in post_worker_init, which sends the worker SIGTERM: uvicorn's graceful
shutdown. For those, `memwarden.workers.uvicorn.RecycleMiddleware` checks per request.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from memwarden.workers.recycle import WorkerMeter, process_meter

log = logging.getLogger("memwarden")
KIND = "gunicorn"


def _calls_post_request(worker: Any) -> bool:
    """sync, gthread, gevent/eventlet (AsyncWorker) call post_request; UvicornWorker does not."""
    classes: list[type] = []
    for module, name in (("gunicorn.workers.sync", "SyncWorker"),
                         ("gunicorn.workers.gthread", "ThreadWorker"),
                         ("gunicorn.workers.base_async", "AsyncWorker")):
        try:
            imported = __import__(module, fromlist=[name])
        except ImportError:  # gthread/base_async need optional modules on some versions
            continue
        classes.append(getattr(imported, name))
    return isinstance(worker, tuple(classes))


def post_worker_init(worker: Any) -> None:
    meter = process_meter(KIND)
    if meter is None:
        return
    log.info("memwarden: worker pid %d recycles over %s tree RSS", os.getpid(),
             meter.config.max_memory)
    if not _calls_post_request(worker):
        _start_watcher(meter)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    meter = process_meter(KIND)
    if meter is None or not worker.alive:
        return
    rss_bytes = meter.check()
    if rss_bytes is None:
        return
    meter.announce(rss_bytes, "requests",
                   "finishing in-flight requests, then exiting for the arbiter to replace it")
    # gunicorn's own graceful path (what SIGTERM from the arbiter runs); gthread's version also
    # wakes its poller, so the worker stops accepting now rather than after its 1 s select.
    worker.handle_exit(signal.SIGTERM, None)


def _start_watcher(meter: WorkerMeter) -> threading.Thread:
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(meter.config.interval_s):
            rss_bytes = meter.check()
            if rss_bytes is not None:
                meter.announce(rss_bytes, "checks", "sending itself SIGTERM (graceful shutdown)")
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=watch, name="memwarden-worker-watch", daemon=True)
    thread.start()
    return thread
