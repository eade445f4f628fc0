"""Hostile requests never give a 500: bad Content-Length headers (sent on raw sockets, since
HTTP clients refuse to) and bad admin JSON, through werkzeug, wsgiref, uvicorn and gunicorn
(Django), and in process through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from memwarden.web.asgi import MemwardenMiddleware
from tests.web.web_helpers import CALM, REPO_ROOT, Server, gunicorn_argv, uvicorn_argv
from tests.web.web_scenarios import AUTH, TOKEN

# Each a list of Content-Length header values: one header each, or two headers.
BAD_LENGTHS: list[list[bytes]] = [
    ["²".encode()], [b"-1"], [b"9" * 400], [b"1e3"], [b"0x10"], [b"+5"], [b"5, 6"],
    [b"5", b"6"], ["١٢".encode()],
]
BAD_ADMIN_BODIES: list[bytes] = [
    b'{"generation": 1.0}', b'{"generation": true}', b'{"generation": "2"}',
    b'{"generation": NaN}', b'{"generation": 1e400}', b'{"generation": ' + b"9" * 400 + b"}",
    b'{"generation": [[[[1]]]]}', b'{"generation": {"a": 1}}', b"true", b'"gc"', b"[]",
    b"[" * 3000, b'{"a":' * 680 + b"1" + b"}" * 680, b"\xff\xfe", b"{",
]
SERVERS = {
    "werkzeug": [sys.executable, "flask_app.py", "{port}"],
    "wsgiref": [sys.executable, "wsgiref_app.py", "{port}"],
    "uvicorn": uvicorn_argv("asgi_app:app"),
    "gunicorn-django": gunicorn_argv("examples.django_app.wsgi:application"),
}
# These refuse a bad Content-Length themselves, before any app or middleware sees it.
STRICT_SERVERS = {"uvicorn", "gunicorn-django"}


def raw_exchange(port: int, request: bytes, timeout_s: float = 30.0) -> tuple[int, bytes]:
    """Send request bytes as they are; return the status and body of the one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(request)
        data = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n")[1:]
                           if line.lower().startswith(b"content-length:")]
                if lengths and len(body) >= int(lengths[0]):
                    break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), data[:200]
    return int(head.split(b" ", 2)[1]), body


def bad_length_request(path: str, values: list[bytes]) -> bytes:
    headers = b"".join(b"Content-Length: " + value + b"\r\n" for value in values)
    # As many bytes as the largest value that is a number: a server that believes one of
    # them finds the whole body and does not wait for more.
    size = max([int(v) for v in values if v.isdigit() and len(v) < 5], default=5)
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + headers + b"\r\n" + b"x" * size)


@pytest.mark.parametrize("server_name", list(SERVERS))
def test_real_servers_refuse_hostile_requests_with_4xx(
    serve: Callable[..., Server], server_name: str
) -> None:
    cwd = {"cwd": REPO_ROOT} if server_name == "gunicorn-django" else {}
    server = serve(SERVERS[server_name], **cwd, **CALM, MEMWARDEN_ADMIN_TOKEN=TOKEN)
    for values in BAD_LENGTHS:
        for path in ("/", "/items/1", "/health", "/memory/gc"):
            status, body = raw_exchange(server.port, bad_length_request(path, values))
            if len(values) > 1 and server_name not in STRICT_SERVERS:
                # A WSGI server passes one of them on (werkzeug the last, wsgiref the first):
                # the app sees a consistent request, and never answers 500.
                assert status < 500, (values, path, status, body)
                continue
            assert 400 <= status < 500, (values, path, status, body)
            if server_name not in STRICT_SERVERS:
                assert status == 400 and "Content-Length" in json.loads(body)["error"], values
    for body in BAD_ADMIN_BODIES:
        reply = server.request("POST", "/memory/gc", headers=AUTH, body=body)
        assert 400 <= reply.status < 500, (body[:40], reply)
        assert reply.json()["status"] == reply.status and reply.json()["error"]
    good = server.request("POST", "/memory/gc", headers=AUTH, body=b'{"generation": 1}')
    assert good.status == 200 and good.json()["generation"] == 1
    assert server.get("/health").status == 200  # and it still serves
    assert "Traceback" not in server.log()


async def _app(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"%d" % len(body)})


def in_process(requests: Callable[[httpx.AsyncClient], Any]) -> Any:
    middleware = MemwardenMiddleware(_app, start_guardian=False, metrics=False,
                                     admin_token=TOKEN)

    async def run() -> Any:
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await requests(client)

    return asyncio.run(run())


@pytest.mark.parametrize("values", BAD_LENGTHS)
def test_asgi_bad_content_length_is_400(values: list[bytes]) -> None:
    async def send(client: httpx.AsyncClient) -> list[httpx.Response]:
        headers = [(b"content-length", value) for value in values]
        return [await client.post(path, content=b"hello", headers=headers)
                for path in ("/", "/health", "/memory/gc")]

    for reply in in_process(send):
        assert reply.status_code == 400
        assert reply.json()["status"] == 400 and "Content-Length" in reply.json()["error"]


def test_asgi_leaves_a_get_s_headers_unscanned() -> None:
    # The documented exception: no body for the app to read, so no scan of the headers.
    async def send(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.request(method, "/", headers=[(b"content-length", b"-1")])
                for method in ("GET", "HEAD")]

    assert [r.status_code for r in in_process(send)] == [200, 200]


def test_asgi_good_content_length_passes() -> None:
    async def send(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.post("/", content=b"hello"),
                await client.post("/", content=b"hello",
                                  headers=[(b"content-length", b"5"), (b"content-length", b"5")]),
                await client.post("/", content=b"hello", headers={"content-length": " 5 "})]

    assert [(r.status_code, r.text) for r in in_process(send)] == [(200, "5")] * 3


@pytest.mark.parametrize("body", BAD_ADMIN_BODIES)
def test_asgi_bad_admin_json_is_400(body: bytes) -> None:
    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/memory/gc", content=body, headers=AUTH)

    reply = in_process(send)
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"error": reply.json()["error"], "status": 400}


def test_asgi_admin_body_too_large_is_413_and_good_one_runs() -> None:
    async def send(client: httpx.AsyncClient) -> list[httpx.Response]:
        big = b'{"generation": 2, "pad": "' + b"x" * 5000 + b'"}'
        return [await client.post("/memory/gc", content=big, headers=AUTH),
                await client.post("/memory/gc", content=b'{"generation": 0}', headers=AUTH),
                await client.post("/memory/cleanup", content=b'{"x": 1}', headers=AUTH)]

    too_large, good, unknown = in_process(send)
    assert too_large.status_code == 413 and too_large.json()["status"] == 413
    assert good.status_code == 200 and good.json()["generation"] == 0
    assert unknown.status_code == 400 and "x" in unknown.json()["error"]

