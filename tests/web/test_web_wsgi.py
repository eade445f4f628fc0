"""Flask (the Memwarden extension over the WSGI middleware) under werkzeug's threaded server,
and a Django project under gunicorn with two sync workers."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from tests.web.web_helpers import CALM, REPO_ROOT, Reply, Server, gunicorn_argv
from tests.web.web_scenarios import SHED_ENV, shedding_scenario

WERKZEUG = [sys.executable, "flask_app.py", "{port}"]
PUBLIC = {"MEMWARDEN_WEB_PUBLIC_DETAILS": "true"}  # and no admin token


def test_werkzeug_flask_sheds_under_critical_memory(serve: Callable[..., Server]) -> None:
    server = serve(WERKZEUG, **SHED_ENV, **PUBLIC)
    shedding_scenario(server, {})


def test_werkzeug_flask_endpoints(serve: Callable[..., Server]) -> None:
    server = serve(WERKZEUG, **CALM, **PUBLIC, MEMWARDEN_WEB_MAX_BODY="1K",
                   MEMWARDEN_WEB_ATTRIBUTION_EVERY="1",  # every request measured and counted
                   MEMWARDEN_WEB_PREFIX="/ops")
    assert server.get("/health").status == 404  # the endpoints moved under the prefix
    health = server.get("/ops/health")
    assert health.status == 200 and health.json()["status"] == "pass"
    assert server.get("/ops/ready").status == 200
    for item_id in (1, 2, 3):
        assert server.get(f"/items/{item_id}").status == 200

    def routes() -> dict[str, int]:
        memory = server.get("/ops/memory").json()  # public details: no token needed
        return {route["route"]: route["requests"] for route in memory["top_routes"]}

    # A WSGI request is finished when the server closes its iterable, just after the client
    # has its response: wait for the third to be counted.
    server.wait_for(lambda: routes().get("/items/<int:item_id>") == 3, "3 requests counted")
    assert "/items/1" not in routes()
    # No admin token configured: the admin actions do not exist.
    for action in ("gc", "cleanup", "snapshot"):
        assert server.request("POST", f"/ops/memory/{action}").status == 404
    assert server.request("POST", "/echo", body=b"x" * 2000).status == 413
    assert server.request("POST", "/echo", body=b"x" * 100).json() == {"received": 100}
    assert server.post_chunked("/echo", [b"x" * 400] * 5).status == 413
    assert server.post_chunked("/echo", [b"x" * 300] * 3).json() == {"received": 900}
    assert server.request("PUT", "/ops/health").status == 405
    for path in ("/ops/memory/../health", "/ops/%2e%2e/health", "/ops/memory/%2e%2e/gc"):
        assert 400 <= server.get(path).status < 500
    # werkzeug reads "//ops/..." as "/ops/...": served as the real path, the token still required
    assert server.get("//ops/metrics").status == 200
    assert server.request("POST", "//ops/memory/gc").status == 404


def test_werkzeug_concurrency_cap(serve: Callable[..., Server]) -> None:
    server = serve(WERKZEUG, **CALM, MEMWARDEN_WEB_MAX_CONCURRENCY="1")
    # Cap 1: while /slow is in flight the next request is refused, health is not.
    replies: dict[str, Reply] = {}
    slow = threading.Thread(target=lambda: replies.update(slow=server.get("/slow")))
    slow.start()
    try:
        server.wait_for(lambda: (server.workdir / "slow.started").exists(), "/slow to start")
        refused = server.get("/")
        assert refused.status == 503 and refused.headers["retry-after"] == "5"
        assert server.get("/health").status == 200
    finally:
        (server.workdir / "slow.release").touch()
        slow.join(60)
    assert replies["slow"].status == 200
    server.wait_for(lambda: server.get("/").status == 200, "the slot to free")
    metrics = server.get("/metrics").body.decode()
    line = 'memwarden_shed_requests_total{reason="concurrency"} '
    counted = [float(x[len(line):]) for x in metrics.splitlines() if x.startswith(line)]
    assert counted and counted[0] >= 1  # more if a retry above met the slot not yet freed


def test_gunicorn_django_two_workers(serve: Callable[..., Server]) -> None:
    argv = gunicorn_argv("examples.django_app.wsgi:application")
    server = serve(argv, cwd=REPO_ROOT, **CALM, **PUBLIC)
    assert server.get("/").status == 200
    assert server.get("/health").json()["status"] == "pass"

    def attributed() -> bool:
        # /memory answers for the worker that serves it: ask until one saw the route.
        server.get("/items/7")
        routes = [r["route"] for r in server.get("/memory").json()["top_routes"]]
        return "/items/<int:item_id>" in routes

    server.wait_for(attributed, "a worker to attribute /items/<int:item_id>")
    memory = server.get("/memory").json()
    assert not [r for r in memory["top_routes"] if r["route"] == "/items/7"]


def test_gunicorn_django_forced_critical(serve: Callable[..., Server]) -> None:
    # A critical threshold below any RSS: every worker is critical from its first tick.
    argv = gunicorn_argv("examples.django_app.wsgi:application")
    env = {**CALM, "MEMWARDEN_LIMIT": "1G", "MEMWARDEN_WARN": "off", "MEMWARDEN_CRITICAL": "1M"}
    server = serve(argv, cwd=REPO_ROOT, **env)
    deadline = time.monotonic() + 30
    replies = []
    while time.monotonic() < deadline and len(replies) < 10:
        replies.append(server.get("/items/3"))
    assert replies and all(r.status == 503 for r in replies)
    assert all(r.headers["retry-after"] == "5" for r in replies)
    assert server.get("/health").status == 200
    assert server.get("/health").json()["status"] == "warn"
    ready = server.get("/ready")
    assert ready.status == 503
    assert ready.json()["checks"]["memory:utilization"][0]["status"] == "fail"


def test_gunicorn_two_sync_workers_shed_while_one_finishes(serve: Callable[..., Server]) -> None:
    # Sync workers serve one request each: while worker A holds /slow, every other request
    # reaches worker B, so B's memory (grown for real past `critical`) decides what they get.
    server = serve(gunicorn_argv("flask_app:app", "--timeout", "120"), **SHED_ENV, **PUBLIC)
    replies: dict[str, Reply] = {}
    slow = threading.Thread(target=lambda: replies.update(slow=server.get("/slow")))
    slow.start()
    try:
        server.wait_for(lambda: (server.workdir / "slow.started").exists(), "/slow to start")
        slow_pid = int((server.workdir / "slow.started").read_text())
        assert server.request("POST", "/grow?mib=300").status == 200
        server.wait_for(lambda: server.get("/ready").status == 503, "/ready to fail")
        memory = server.get("/memory").json()
        assert memory["pid"] != slow_pid and memory["tier"] == "critical"
        shed = server.get("/items/1")
        assert shed.status == 503 and shed.headers["retry-after"] == "7"
        assert server.get("/health").status == 200
    finally:
        (server.workdir / "slow.release").touch()
        slow.join(60)
    assert replies["slow"].status == 200 and replies["slow"].json() == {"slow": "done"}
