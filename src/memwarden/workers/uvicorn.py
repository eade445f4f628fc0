"""uvicorn: recycle a worker over its max memory through uvicorn's own graceful shutdown.

    from memwarden.workers.uvicorn import RecycleMiddleware
    app = RecycleMiddleware(app, max_memory="300M")   # or MEMWARDEN_WORKER_MAX_MEMORY

    uvicorn app:app --workers 4          # uvicorn's supervisor replaces a worker that exits
    gunicorn -k uvicorn.workers.UvicornWorker app:app   # so does gunicorn's arbiter

After each HTTP response the worker measures its own process tree; over the max it sends
itself SIGTERM once. uvicorn's handler stops accepting, lets in-flight requests finish
(bounded by --timeout-graceful-shutdown) and the process exits; the multiprocess supervisor
(uvicorn >= 0.30, `--workers N`) or gunicorn's arbiter starts a replacement.
A single `uvicorn app:app` without --workers has nobody to restart it: run it under
`memwarden run` (or systemd, Kubernetes) or the server simply stops.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from memwarden.workers.recycle import WorkerMeter, load_recycle_config

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RecycleMiddleware:
    """Pure ASGI middleware; lifespan and websocket scopes pass through untouched."""

    def __init__(
        self,
        app: ASGIApp,
        max_memory: str | int | None = None,
        *,
        check_every: int | None = None,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self._config = load_recycle_config(max_memory, check_every=check_every, environ=environ)
        self._meter: WorkerMeter | None = None

    def _process_meter(self) -> WorkerMeter | None:
        # Built lazily in the worker: the app object may be imported in a supervisor first.
        if self._config is None:
            return None
        if self._meter is None or self._meter.pid != os.getpid():
            self._meter = WorkerMeter(self._config, kind="uvicorn")
        return self._meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            meter = self._process_meter()
            rss_bytes = meter.check() if meter is not None else None
            if meter is not None and rss_bytes is not None:
                meter.announce(rss_bytes, "requests",
                               "sending itself SIGTERM: in-flight requests finish, then it exits")
                os.kill(os.getpid(), signal.SIGTERM)
