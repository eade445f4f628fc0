"""In-process pieces: config, user checks, attribution bounds, ASGI pass-through and templates."""

from __future__ import annotations

import asyncio
import json
import mmap
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memwarden.errors import ConfigError
from memwarden.web.attribution import OTHER, UNMATCHED, Attribution
from memwarden.web.config import WebConfig, load_web_config
from memwarden.web.health import CheckRegistry, run_checks_async, run_checks_blocking
from tests.web.web_helpers import child_env


def test_config_from_toml_env_and_options(tmp_path: Path) -> None:
    toml = tmp_path / "memwarden.toml"
    toml.write_text('limit = "512M"\n[web]\nprefix = "/_mw/"\nmax_concurrency = 8\n'
                    'exempt_paths = ["/ping"]\nretry_after = 3\n')
    environ = {"MEMWARDEN_WEB_MAX_BODY": "2M", "MEMWARDEN_WEB_MAX_CONCURRENCY": "16",
               "MEMWARDEN_ADMIN_TOKEN": "abc", "MEMWARDEN_WEB_PUBLIC_DETAILS": "yes"}
    config = load_web_config({"top_routes": 3}, environ=environ, config_path=toml)
    assert config == WebConfig(prefix="/_mw", max_concurrency=16, exempt_paths=("/ping",),
                               retry_after_s=3, max_body_bytes=2 * 1024**2, admin_token="abc",
                               public_details=True, top_routes=3)
    assert config.path("health") == "/_mw/health"
    assert load_web_config({}, environ={"MEMWARDEN_ADMIN_TOKEN": " "},
                           config_path=toml).admin_token is None


@pytest.mark.parametrize(("key", "value", "named"), [
    ("max_concurrency", "many", "web.max_concurrency='many'"),
    ("max_body", "lots", "web.max_body='lots'"),
    ("prefix", "ops", "web.prefix='ops'"),
    ("health_path", "/h?x", "web.health_path='/h?x'"),
    ("shed", "maybe", "web.shed='maybe'"),
    ("retry_after", "0", "web.retry_after='0'"),
    ("colour", "blue", "web.colour='blue'"),
])
def test_config_errors_name_key_and_value(key: str, value: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_web_config({key: value}, environ={})
    assert str(info.value).startswith(named)


def test_import_web_stays_light() -> None:
    code = ("import sys, memwarden.web, memwarden.web.asgi, memwarden.web.wsgi; "
            "print(__import__('json').dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                            text=True, check=True)
    loaded = set(json.loads(result.stdout))
    assert not {"prometheus_client", "starlette", "flask", "django", "fastapi"} & loaded


def test_user_checks_sync_async_timeouts_and_errors() -> None:
    registry = CheckRegistry()

    async def slow_async() -> bool:
        await asyncio.sleep(1)  # 20x its timeout; short so no pool thread outlives the test long
        return True

    async def async_dict() -> dict[str, Any]:
        return {"status": "warn", "observedValue": 3, "componentType": "datastore"}

    def broken() -> None:
        raise RuntimeError("connection refused")

    registry.add("redis:ping", async_dict, timeout=5)
    registry.add("db:ping", lambda: True, timeout=5)
    registry.add("bot:session", slow_async, timeout=0.05)
    registry.add("api:auth", broken, timeout=5)
    registry.add("odd", lambda: 42, timeout=5)
    for results in (asyncio.run(run_checks_async(registry)), run_checks_blocking(registry)):
        by_name = {r.name: r for r in results}
        assert by_name["db:ping"].status == "pass"
        redis = by_name["redis:ping"].entry()
        assert redis["status"] == "warn" and redis["componentType"] == "datastore"
        assert by_name["bot:session"].status == "fail"
        assert by_name["bot:session"].output == "timed out after 0.05s"
        assert by_name["api:auth"].output == "RuntimeError: connection refused"
        assert by_name["odd"].status == "fail"
    with pytest.raises(ValueError, match="timeout"):
        registry.add("x", lambda: True, timeout=0)


def test_attribution_is_bounded() -> None:
    attribution = Attribution(max_routes=3, every=1)
    for route in ("/a", "/b", None, "/c", "/d", "/a"):
        mark = attribution.begin()
        assert mark is not None  # every=1: every request is measured
        attribution.end(route, mark)
    routes = {r["route"]: r["requests"] for r in attribution.top(10)}
    assert routes == {"/a": 2, "/b": 1, UNMATCHED: 1, OTHER: 2}


def test_attribution_measures_one_request_in_every_and_scales() -> None:
    attribution = Attribution(every=4)
    held = []
    for _ in range(8):
        mark = attribution.begin()
        # 4 MiB of fresh anonymous pages, each written: resident, and never memory a long-lived
        # test process freed earlier (malloc would hand that back without RSS growing).
        pages = mmap.mmap(-1, 4 * 2**20)
        for offset in range(0, len(pages), mmap.PAGESIZE):
            pages[offset] = 1
        held.append(pages)
        if mark is not None:
            attribution.end("/grow", mark)
    (grow,) = attribution.top(10)
    assert grow["measured_requests"] == 2 and grow["requests"] == 8  # 2 standing for 4 each
    assert grow["max_rss_delta_bytes"] >= 4 * 2**20
    # Two measured deltas of 4 MiB (and a little), each standing for 4 requests: 32 MiB.
    assert 32 * 2**20 <= grow["net_rss_bytes"] <= 44 * 2**20
    assert grow["grown_rss_bytes"] >= grow["net_rss_bytes"]
    assert len(held) == 8


def test_a_forked_worker_starts_its_own_guardian() -> None:
    import os

    from memwarden.web.core import Warden

    warden = Warden(start_guardian=False)
    warden.start_guardian()
    assert warden.started
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: as a preloading server's worker would be
        # Neither started nor lean: its first request takes the full path and starts it.
        os.write(write_fd, b"1" if warden.started or warden.lean else b"0")
        os._exit(0)
    os.close(write_fd)
    try:
        assert os.read(read_fd, 1) == b"0"  # not started in the child
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    assert warden.started  # the parent's is unchanged


def _asgi_get(app: Any, path: str, method: str = "GET") -> tuple[int, bytes]:
    """One request through an ASGI app, as a server would call it (no test client needed)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [(b"host", b"test")], "server": ("test", 80)}
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body


def test_asgi_passes_other_scopes_and_names_mounted_templates() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    from memwarden.web.asgi import MemwardenMiddleware

    async def user(request: Any) -> PlainTextResponse:
        return PlainTextResponse("u")

    inner = Starlette(routes=[Mount("/api", routes=[Route("/users/{user_id}", user)])])
    app = MemwardenMiddleware(inner, start_guardian=False, public_details=True, metrics=False)
    assert _asgi_get(app, "/api/users/42") == (200, b"u")
    assert _asgi_get(app, "/api/users/43") == (200, b"u")
    status, body = _asgi_get(app, "/memory")
    assert status == 200
    assert [r["route"] for r in json.loads(body)["top_routes"]] == ["/api/users/{user_id}"]

    seen: list[str] = []

    async def raw(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(MemwardenMiddleware(raw, start_guardian=False)({"type": "websocket"},
                                                              _never, _never))
    assert seen == ["websocket"]


def test_asgi_counts_requests_in_flight_on_every_path() -> None:
    # GETs take the short path (the measured one in attribution_every does not), a POST the
    # full one, an exempt path is never counted; an app that raises is released too.
    from memwarden.web.asgi import MemwardenMiddleware

    seen: list[tuple[str, int]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["path"], middleware.warden.shedder.in_flight))
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = MemwardenMiddleware(app, start_guardian=False, metrics=False,
                                     exempt_paths=["/ping"], attribution_every=4)
    for n in range(8):
        assert _asgi_get(middleware, f"/get/{n}") == (200, b"ok")
    assert _asgi_get(middleware, "/post", "POST") == (200, b"ok")
    assert _asgi_get(middleware, "/ping") == (200, b"ok")
    with pytest.raises(RuntimeError):
        _asgi_get(middleware, "/boom")
    assert seen == [*((f"/get/{n}", 1) for n in range(8)), ("/post", 1), ("/ping", 0),
                    ("/boom", 1)]
    assert middleware.warden.shedder.in_flight == 0
    (route,) = middleware.warden.top_routes()  # no route template: one bucket
    assert route["measured_requests"] == 3  # the 1st and 5th GET and the POST (9th)


def test_a_release_too_many_keeps_in_flight_at_zero() -> None:
    from memwarden.web.shedding import Shedder

    shedder = Shedder(WebConfig())
    assert shedder.admit("/x", None) is None
    shedder.release()
    shedder.release()  # a server closing a response twice
    assert shedder.in_flight == 0
    assert shedder.admit("/x", None) is None
    assert shedder.in_flight == 1


LATE_GUARDIAN = """
import asyncio, time
import memwarden
from memwarden.web.asgi import MemwardenMiddleware

async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

async def get(path):
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [],
             "query_string": b""}
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    sent = []
    async def send(message):
        sent.append(message)
    await middleware(scope, receive, send)
    return sent[0]["status"]

middleware = MemwardenMiddleware(app, start_guardian=False)
warden = middleware.warden
print(asyncio.run(get("/a")), warden.lean)  # no guardian: requests refresh the metrics
memwarden.start(interval="1m")
deadline = time.monotonic() + 30
while not warden.lean and time.monotonic() < deadline:  # refreshed at most once a second
    asyncio.run(get("/a"))
    time.sleep(0.05)
print(warden.lean, asyncio.run(get("/metrics")))
"""


def test_asgi_requests_refresh_the_metrics_until_a_guardian_does() -> None:
    # Without a guardian of its own the middleware's requests keep the gauges current, so
    # none takes the short path; once the app starts a guardian, its samples do, and
    # requests go back to the short path.
    result = subprocess.run([sys.executable, "-c", LATE_GUARDIAN], capture_output=True,
                            text=True, timeout=60, env=child_env())
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["200", "False", "True", "200"]


async def _never(*args: Any) -> Any:
    raise AssertionError("not called")


def test_leak_events_feed_trend_and_metrics() -> None:
    import time

    from memwarden.config import GuardConfig
    from memwarden.events import Event
    from memwarden.guardian import Guardian
    from memwarden.web.state import latest_leak

    guardian = Guardian(GuardConfig(restart=None))  # never started: just its event bus
    assert latest_leak(guardian) is None
    figures = {"rate_bytes_per_h": 36_000_000.0, "eta_s": 1800.0, "phase": "detected"}
    guardian.events.publish(Event(kind="leak", time_s=time.time(), message="leak", figures=figures))
    guardian.events.publish(Event(kind="tier", time_s=time.time(), message="tier up"))
    leak = latest_leak(guardian)
    assert leak is not None and leak.leaking
    assert leak.rate_bytes_per_s == 10_000.0 and leak.eta_s == 1800.0
    cleared = {**figures, "phase": "cleared", "eta_s": None}
    guardian.events.publish(Event(kind="leak", time_s=time.time(), message="gone", figures=cleared))
    leak = latest_leak(guardian)
    assert leak is not None and not leak.leaking and leak.eta_s is None


def test_bad_guardian_settings_fail_at_app_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from memwarden.web.wsgi import MemwardenWSGIMiddleware

    monkeypatch.setenv("MEMWARDEN_CRITICAL", "120%")
    with pytest.raises(ConfigError, match="MEMWARDEN_CRITICAL='120%'"):
        MemwardenWSGIMiddleware(lambda environ, start_response: [])
    MemwardenWSGIMiddleware(lambda environ, start_response: [], start_guardian=False)


def test_asgi_default_attribution_measures_one_request_in_64() -> None:
    # The defaults, in process: each measured request counts for 64, by its route template.
    import httpx
    from fastapi import FastAPI

    from memwarden.web.asgi import MemwardenMiddleware

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    middleware = MemwardenMiddleware(app, start_guardian=False, metrics=False)

    async def run() -> None:
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for n in range(192):
                assert (await client.get(f"/items/{n}")).status_code == 200

    asyncio.run(run())
    (route,) = middleware.warden.top_routes()
    assert route["route"] == "/items/{item_id}"
    assert route["measured_requests"] == 3 and route["requests"] == 192


@pytest.mark.parametrize("cap", [None, 3])
def test_in_flight_count_holds_under_threads(cap: int | None) -> None:
    import threading

    from memwarden.web.shedding import Shedder

    shedder = Shedder(WebConfig(shed=False, max_concurrency=cap))
    seen: list[int] = []
    active = [0, 0]  # requests between admit and release, and their peak
    lock = threading.Lock()
    start = threading.Barrier(8)

    def serve() -> None:
        start.wait()
        for _ in range(3000):
            if shedder.admit("/x", None) is None:
                with lock:
                    active[0] += 1
                    active[1] = max(active)
                seen.append(shedder.in_flight)
                with lock:
                    active[0] -= 1
                shedder.release()

    threads = [threading.Thread(target=serve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shedder.in_flight == 0
    assert len(seen) + shedder.shed_counts["concurrency"] == 8 * 3000
    assert min(seen) >= 1  # never below the true count
    assert cap is None or active[1] <= cap
