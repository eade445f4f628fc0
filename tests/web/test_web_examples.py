"""The examples run as the docs say: from the repository root, wired as a user would."""

from __future__ import annotations

import http.client
from collections.abc import Callable

from tests.web.web_helpers import CALM, REPO_ROOT, Server, gunicorn_argv, uvicorn_argv


def test_fastapi_example_under_uvicorn(serve: Callable[..., Server]) -> None:
    server = serve(uvicorn_argv("examples.fastapi_app:app"), cwd=REPO_ROOT, **CALM,
                   MEMWARDEN_ADMIN_TOKEN="ex")
    assert server.get("/items/4").json() == {"item_id": 4, "cached": 1}
    ready = server.get("/ready").json()
    assert ready["status"] == "pass"
    assert ready["checks"]["sessions:count"][0]["observedValue"] == 1
    cleanup = server.request("POST", "/memory/cleanup", headers={"Authorization": "Bearer ex"})
    steps = [step["step"] for step in cleanup.json()["steps"]]
    assert any(step.startswith("hook:") for step in steps)  # the sessions cache was cleared
    assert server.get("/ready").json()["checks"]["sessions:count"][0]["observedValue"] == 0


def test_flask_example_under_gunicorn(serve: Callable[..., Server]) -> None:
    server = serve(gunicorn_argv("examples.flask_app:app"), cwd=REPO_ROOT, **CALM)
    assert server.get("/items/9").json()["item_id"] == 9
    assert server.get("/health").json()["status"] == "pass"
    assert server.get("/ready").json()["checks"]["sessions:count"][0]["status"] == "pass"
    # A declared 11 MiB body is refused from its Content-Length, before any of it is read.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/items/9")
        conn.putheader("Content-Length", str(11 * 1024 * 1024))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    # The same limit for a chunked upload (no Content-Length), under gunicorn's own reader.
    mib = 1024 * 1024
    assert server.post_chunked("/items/9", [b"x" * mib] * 10 + [b"x" * 65536]).status == 413
