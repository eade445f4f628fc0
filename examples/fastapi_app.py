"""FastAPI under memwarden: health, readiness, /memory, /metrics, load shedding, route attribution.

    uvicorn examples.fastapi_app:app                        # from the repository root
    gunicorn -w 2 -k uvicorn.workers.UvicornWorker examples.fastapi_app:app

    curl localhost:8000/health ; curl localhost:8000/ready ; curl localhost:8000/metrics
    MEMWARDEN_WEB_ADMIN_TOKEN=s3cret uvicorn examples.fastapi_app:app
    curl -H 'Authorization: Bearer s3cret' localhost:8000/memory
    curl -X POST -H 'Authorization: Bearer s3cret' localhost:8000/memory/gc
"""

from __future__ import annotations

from fastapi import FastAPI

import memwarden
import memwarden.web
from memwarden.web.asgi import MemwardenMiddleware

app = FastAPI()
# The middleware's lifespan starts the guardian once per worker (thresholds from MEMWARDEN_*).
app.add_middleware(MemwardenMiddleware, max_concurrency=64, max_body_bytes="10M")

sessions: dict[int, bytes] = {}  # a cache memwarden clears when memory turns critical
memwarden.on_pressure(sessions)


async def sessions_check() -> dict[str, object]:
    """A user check: counts toward /ready (not /health), with a 0.5 s timeout."""
    return {"status": "pass", "observedValue": len(sessions), "observedUnit": "sessions"}


memwarden.web.add_check("sessions:count", sessions_check, timeout=0.5)


@app.get("/")
async def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    # /memory lists this route as "/items/{item_id}", never per id.
    sessions[item_id] = b"x" * 64 * 1024
    return {"item_id": item_id, "cached": len(sessions)}
