"""FastAPI + MemwardenMiddleware under a real uvicorn."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path

from tests.web.web_helpers import CALM, Server, uvicorn_argv
from tests.web.web_scenarios import AUTH, SHED_ENV, TOKEN, shedding_scenario


def test_uvicorn_sheds_under_critical_memory(serve: Callable[..., Server]) -> None:
    server = serve(uvicorn_argv("asgi_app:app"), **SHED_ENV, MEMWARDEN_ADMIN_TOKEN=TOKEN)
    shedding_scenario(server, AUTH)


def test_uvicorn_endpoints_admin_and_hostile_input(serve: Callable[..., Server]) -> None:
    server = serve(uvicorn_argv("asgi_app:app"), **CALM, MEMWARDEN_ADMIN_TOKEN=TOKEN,
                   MEMWARDEN_WEB_MAX_BODY="1K", WEBTEST_SLOW_CHECK="1",
                   MEMWARDEN_WEB_ATTRIBUTION_EVERY="1")  # every request measured and counted
    health = server.get("/health")
    assert health.status == 200
    assert health.headers["content-type"] == "application/health+json"
    memory_check = health.json()["checks"]["memory:utilization"][0]
    assert health.json()["status"] == "pass" and memory_check["status"] == "pass"
    assert memory_check["observedUnit"] == "percent"
    assert 0 < memory_check["observedValue"] < 100 and memory_check["time"].endswith("Z")
    assert "db:ping" not in health.json()["checks"]  # user checks count toward /ready only
    head = server.request("HEAD", "/health")
    assert head.status == 200 and head.body == b""

    # A check that hangs past its timeout fails /ready (and does not hang it).
    ready = server.get("/ready")
    assert ready.status == 503 and "retry-after" in ready.headers
    checks = ready.json()["checks"]
    assert checks["db:ping"][0]["status"] == "pass"
    assert checks["bot:session"][0]["status"] == "fail"
    assert "timed out after 0.2s" in checks["bot:session"][0]["output"]
    assert checks["memory:utilization"][0]["status"] == "pass"

    # Route attribution by template, never by raw path.
    for item_id in range(5):
        assert server.get(f"/items/{item_id}").status == 200
    assert server.get("/no/such/path").status == 404
    assert server.get("/memory").json() == {"status": "ok"}  # no details without the token

    def item_requests() -> int:
        memory = server.get("/memory", headers=AUTH).json()
        routes = {route["route"]: route for route in memory["top_routes"]}
        return int(routes.get("/items/{item_id}", {}).get("requests", 0))

    server.wait_for(lambda: item_requests() == 5, "5 requests counted")  # finish() ends a request
    memory = server.get("/memory", headers=AUTH).json()
    routes = {route["route"]: route for route in memory["top_routes"]}
    assert "<unmatched>" in routes
    assert not [r for r in routes if r.startswith("/items/") and r != "/items/{item_id}"]
    assert memory["limit_source"] in ("budget", "cgroup", "system")
    assert memory["tree_rss_bytes"] > 10 * 1024 * 1024
    assert memory["thresholds_bytes"]["critical"] > 0 and memory["running"] is True

    metrics = server.get("/metrics")
    assert metrics.status == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.body.decode()
    assert "memwarden_tree_rss_bytes " in text and "process_resident_memory_bytes " in text

    # Body size limit: by Content-Length, and counted while a chunked body streams in.
    assert server.request("POST", "/echo", body=b"x" * 500).json() == {"received": 500}
    assert server.request("POST", "/echo", body=b"x" * 2000).status == 413
    assert server.post_chunked("/echo", [b"x" * 400] * 5).status == 413
    assert server.post_chunked("/echo", [b"x" * 300] * 3).json() == {"received": 900}

    _admin_endpoints(server)
    _hostile_inputs(server)


def _admin_endpoints(server: Server) -> None:
    assert server.request("POST", "/memory/gc").status == 401
    wrong = server.request("POST", "/memory/gc", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert server.get("/memory", headers={"Authorization": "Bearer nope"}).status == 401
    gc_reply = server.request("POST", "/memory/gc", headers=AUTH)
    assert gc_reply.status == 200 and gc_reply.json()["action"] == "gc"
    gen0 = server.request("POST", "/memory/gc", headers=AUTH, body=b'{"generation": 0}')
    assert gen0.json()["generation"] == 0
    cleanup = server.request("POST", "/memory/cleanup", headers=AUTH)
    assert cleanup.status == 200
    assert cleanup.json()["steps"][0]["step"] == "gc.collect"
    snapshot = server.request("POST", "/memory/snapshot", headers=AUTH)
    assert snapshot.status == 200, snapshot
    written = Path(snapshot.json()["path"])
    assert written.parent == server.workdir and written.stat().st_mode & 0o777 == 0o600
    assert server.get("/memory/gc", headers=AUTH).status == 405
    assert server.get("/memory/gc", headers=AUTH).headers["allow"] == "POST"
    assert server.request("POST", "/memory/nothing", headers=AUTH).status == 404
    assert server.request("POST", "/health").status == 405
    assert server.request("DELETE", "/metrics").status == 405
    for bad_body in (b"{not json", b"[1, 2]", b'{"generation": 7}', b'{"what": 1}',
                     b"\xff\xfe\x00", b'{"generation": true}'):
        assert server.request("POST", "/memory/gc", headers=AUTH, body=bad_body).status == 400
    assert server.request("POST", "/memory/cleanup", headers=AUTH, body=b'{"x": 1}').status == 400


def _hostile_inputs(server: Server) -> None:
    for path in ("/memory/../health", "//metrics", "/%2e%2e/health", "/memory/%2e%2e/gc",
                 "/memory/gc/../../health", "/health/", "/memory//gc", "/%00", "/memory/gc%00"):
        for method in ("GET", "POST"):
            reply = server.request(method, path, headers=AUTH)
            assert 400 <= reply.status < 500, (method, path, reply)
    assert server.get("/health?verbose=1").status == 200
    # Oversized, non-ASCII and malformed tokens: 401, never 500.
    for value in ("Bearer " + "x" * 12_000, "Bearer t\xe9st", "Basic abc", "Bearer", "bearer  "):
        reply = server.request("POST", "/memory/gc", headers={"Authorization": value})
        assert reply.status == 401, (value[:20], reply)
    # Headers beyond the server's limit: the server refuses them (4xx or a closed connection).
    try:
        status = server.get("/health", headers={"X-Big": "y" * 200_000}).status
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        status = 400
    assert 400 <= status < 500
    assert server.get("/health").status == 200  # and it still serves
