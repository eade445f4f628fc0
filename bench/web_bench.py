"""Per-request cost of MemwardenMiddleware against the bare ASGI app, in-process.

    python bench/web_bench.py [--requests 20000] [--runs 5]

Each variant drives the same app through one event loop with a minimal HTTP scope (no
sockets: the server's own cost would drown the difference). A guardian runs (restart off, far
from any threshold), so the shedding check reads a real tier. Variants are interleaved per run
and the median µs/request is reported with the overhead over the bare app (a raw ASGI callable
answering "ok") and, for the FastAPI rows, over the same FastAPI app without the middleware.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from _table import median, table

SCOPE: dict[str, Any] = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/items/1", "raw_path": b"/items/1", "root_path": "",
    "query_string": b"", "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
    "server": ("bench", 80),
}
START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"text/plain")]}
BODY = {"type": "http.response.body", "body": b"ok"}


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    await send(START)
    await send(BODY)


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    return None


async def drive(app: Any, requests: int) -> float:
    """µs per request."""
    begin = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)
    return (time.perf_counter() - begin) / requests * 1e6


def fastapi_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


def variants() -> dict[str, Any]:
    from memwarden.web.asgi import MemwardenMiddleware

    common = {"start_guardian": False}
    fastapi = fastapi_app()
    return {
        "bare app (baseline)": bare_app,
        "middleware, attribution off, metrics off": MemwardenMiddleware(
            bare_app, attribution=False, metrics=False, **common),
        "middleware, attribution on, metrics off": MemwardenMiddleware(
            bare_app, attribution=True, metrics=False, **common),
        "middleware, attribution on, metrics on": MemwardenMiddleware(
            bare_app, attribution=True, metrics=True, **common),
        "... + max_concurrency + max_body": MemwardenMiddleware(
            bare_app, attribution=True, metrics=True, max_concurrency=1000,
            max_body_bytes="10M", **common),
        "FastAPI app (second baseline)": fastapi,
        "FastAPI app + middleware (all on)": MemwardenMiddleware(
            fastapi, attribution=True, metrics=True, **common),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("MEMWARDEN_RESTART", "off")
    import memwarden

    memwarden.start(interval=1.0)
    apps = variants()
    timings: dict[str, list[float]] = {name: [] for name in apps}
    loop = asyncio.new_event_loop()
    for app in apps.values():  # warm-up: first metrics refresh, fd opens, caches
        loop.run_until_complete(drive(app, 1000))
    for _ in range(args.runs):
        for name, app in apps.items():
            timings[name].append(loop.run_until_complete(drive(app, args.requests)))
    loop.close()
    memwarden.stop()
    rows = []
    for name, t in timings.items():
        base = median(timings["FastAPI app (second baseline)" if name.startswith("FastAPI")
                              else "bare app (baseline)"])
        base_min = min(timings["FastAPI app (second baseline)" if name.startswith("FastAPI")
                               else "bare app (baseline)"])
        rows.append([name, f"{median(t):.2f}", f"{median(t) - base:+.2f}",
                     f"{median(t) / base:.2f}x", f"{min(t):.2f}", f"{min(t) - base_min:+.2f}"])
    print(f"ASGI middleware cost, {args.requests} requests x {args.runs} runs, median\n")
    print(table(["variant", "µs/request", "overhead µs", "ratio", "best µs", "best overhead µs"],
                rows))
    print("\n(best: the fastest run, least disturbed by other load on the machine)")


if __name__ == "__main__":
    main()
