"""Celery (prefork): a child over its max memory is replaced after its current task.

    # the module that creates your Celery app
    from memwarden.workers.celery import install
    install(app, max_memory="300M")          # or MEMWARDEN_WORKER_MAX_MEMORY

Celery's own `worker_max_memory_per_child` is the right mechanism with the wrong figure:
billiard checks it after each task, once the result is sent to the parent, and then the child
exits with EX_RECYCLE and the pool forks a replacement — nothing is lost. But the figure is
`getrusage(RUSAGE_SELF).ru_maxrss`: the *peak* RSS, which never goes down (a child that once
spiked is recycled after every later task) and does not see the child's own subprocesses.
install() keeps billiard's mechanism and replaces the figure: in each child (on
worker_process_init) billiard's memory probe reads the child's current process-tree RSS from
/proc through memwarden's readers, and the pool's limit is set to the max in KiB.

Caveats: RSS of a forked child includes pages still shared with the parent, so set the max
above the parent's RSS; only the prefork pool has children to recycle (solo/threads/gevent
pools: use `memwarden run` around the worker instead).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from memwarden.units import Threshold, format_bytes
from memwarden.workers.recycle import RecycleConfig, WorkerMeter, load_recycle_config

log = logging.getLogger("memwarden")


def _max_bytes(config: RecycleConfig) -> int:
    from memwarden.workers.recycle import _effective_limit_bytes

    limit_bytes = None if config.max_memory.fraction is None else _effective_limit_bytes()
    max_bytes = config.max_memory.resolve(limit_bytes)
    if max_bytes is None:
        from memwarden.errors import ConfigError

        raise ConfigError("worker_max_memory", str(config.max_memory),
                          "a percentage needs a known limit (cgroup or machine)")
    return max_bytes


def install(app: Any, max_memory: str | int | None = None) -> int | None:
    """Recycle prefork children of `app` over max_memory (a size, or a percentage of the
    effective limit); returns the max in bytes, or None when no max is configured."""
    config = load_recycle_config(max_memory)
    if config is None:
        return None
    import billiard.pool
    from celery import signals

    if not callable(getattr(billiard.pool, "mem_rss", None)):
        raise RuntimeError(
            f"billiard {getattr(billiard, '__version__', '?')} has no pool.mem_rss probe; "
            "memwarden.workers.celery cannot hook its max-memory-per-child check"
        )
    max_bytes = _max_bytes(config)
    previous = app.conf.worker_max_memory_per_child
    if previous:
        log.info("memwarden: replacing worker_max_memory_per_child=%s KiB (peak RSS) with "
                 "%s of current tree RSS", previous, format_bytes(max_bytes))
    # billiard compares KiB with `>`; the probe below reports KiB of the current tree RSS.
    app.conf.worker_max_memory_per_child = max(1, max_bytes // 1024)
    child_config = RecycleConfig(Threshold(size_bytes=max_bytes), 1, config.interval_s)

    def on_child_start(**_: Any) -> None:
        _hook_child(child_config)

    signals.worker_process_init.connect(on_child_start, weak=False)
    return max_bytes


def _hook_child(config: RecycleConfig) -> None:
    import billiard.pool

    meter = WorkerMeter(config, kind="celery")
    max_kib = max(1, (meter.max_bytes or 0) // 1024)

    def tree_rss_kib() -> int:
        meter.count()
        rss_bytes = meter.tree_rss_bytes()
        if rss_bytes is None:
            return 0  # billiard logs "worker unable to determine memory usage" and carries on
        if rss_bytes // 1024 > max_kib:
            meter.announce(rss_bytes, "tasks",
                           "result sent; the pool replaces this child before its next task")
        return rss_bytes // 1024

    # billiard's workloop looks `mem_rss` up in its module at each call, after the READY put.
    billiard.pool.mem_rss = tree_rss_kib
    log.debug("memwarden: celery child pid %d recycles over %s tree RSS", os.getpid(),
              format_bytes(meter.max_bytes))
