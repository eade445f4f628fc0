"""FastAPI test app under MemwardenMiddleware (options from MEMWARDEN_WEB_* in the tests)."""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI, Request
from waiting import grow, shrink, wait_for_release

import memwarden.web
from memwarden.web.asgi import MemwardenMiddleware

app = FastAPI()
app.add_middleware(MemwardenMiddleware)


def slow_check() -> bool:
    import time

    time.sleep(5)  # longer than its timeout: /ready must report it failed, not hang
    return True


memwarden.web.add_check("db:ping", lambda: True, timeout=2)
if os.environ.get("WEBTEST_SLOW_CHECK"):
    memwarden.web.add_check("bot:session", slow_check, timeout=0.2)


@app.get("/")
async def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


@app.get("/slow")
async def slow() -> dict[str, str]:
    await asyncio.to_thread(wait_for_release, "slow")
    return {"slow": "done"}


@app.post("/grow")
async def grow_route(mib: int) -> dict[str, int]:
    return {"held": grow(mib)}


@app.post("/shrink")
async def shrink_route() -> dict[str, str]:
    shrink()
    return {"held": "none"}


@app.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"received": len(await request.body())}
