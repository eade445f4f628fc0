"""Socket hand-off, for real: children (a bare one, uvicorn, gunicorn) serve on inherited fds."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from memwarden.errors import ConfigError
from memwarden.supervisor import sockets
from tests.supervisor.lossless_helpers import read_line

SRC = Path(__file__).resolve().parents[2] / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC)}

CHILD = r"""
import json, os, sys
from memwarden.supervisor.sockets import listen_fds
seen = {"listen_pid": os.environ.get("LISTEN_PID"), "pid": os.getpid(),
        "names": os.environ.get("LISTEN_FDNAMES"),
        "source_env": os.environ.get("MEMWARDEN_LISTEN_SOURCE_FDS")}
socks = listen_fds()
seen["fds"] = [s.fileno() for s in socks]
seen["families"] = [s.family.name for s in socks]
seen["left_in_env"] = os.environ.get("LISTEN_FDS")
print(json.dumps(seen), flush=True)
for s in socks:
    conn, _ = s.accept()
    conn.sendall(b"hello from %d" % os.getpid())
    conn.close()
"""


@pytest.mark.parametrize(
    ("text", "family", "address"),
    [
        ("tcp://127.0.0.1:8000", socket.AF_INET, ("127.0.0.1", 8000)),
        ("tcp://[::1]:0", socket.AF_INET6, ("::1", 0)),
        ("tcp://localhost:65535", socket.AF_INET, ("localhost", 65535)),
        ("unix:/run/app.sock", socket.AF_UNIX, "/run/app.sock"),
    ],
)
def test_parse_socket(text: str, family: socket.AddressFamily, address: object) -> None:
    spec = sockets.parse_socket(text)
    assert (spec.family, spec.address, spec.text) == (family, address, text)


@pytest.mark.parametrize(
    "text", ["127.0.0.1:8000", "tcp://127.0.0.1", "tcp://:80", "tcp://h:99999", "unix:", "udp://h:1"]
)
def test_bad_socket_names_key_and_value(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        sockets.parse_socket(text)
    assert caught.value.key == "socket"
    assert f"socket={text!r}" in str(caught.value)


def test_bind_unix_replaces_a_stale_socket_and_close_removes_it(tmp_path: Path) -> None:
    spec = sockets.parse_socket(f"unix:{tmp_path / 'app.sock'}")
    first = sockets.bind(spec)
    first.close()  # leaves the file behind, like a crashed supervisor
    listeners = sockets.bind_all([spec])
    assert (tmp_path / "app.sock").exists()
    sockets.close_all(listeners)
    assert not (tmp_path / "app.sock").exists()
    (tmp_path / "regular").write_text("not a socket")
    with pytest.raises(ConfigError, match="cannot listen"):
        sockets.bind(sockets.parse_socket(f"unix:{tmp_path / 'regular'}"))


def test_child_gets_fds_from_3_and_its_own_listen_pid(
    tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    specs = [sockets.parse_socket("tcp://127.0.0.1:0"),
             sockets.parse_socket(f"unix:{tmp_path / 's.sock'}")]
    listeners = sockets.bind_all(specs)
    try:
        handoff = sockets.handoff(listeners, [s.name for s in specs])
        child = subprocess.Popen(
            handoff.wrap([sys.executable, "-c", CHILD]),
            env={**ENV, **handoff.env},
            pass_fds=handoff.pass_fds,
            stdout=subprocess.PIPE,
        )
        reaper.append(child)
        seen = json.loads(read_line(child))
        assert seen["listen_pid"] == str(child.pid) == str(seen["pid"])
        assert seen["fds"] == [3, 4]
        assert seen["families"] == ["AF_INET", "AF_UNIX"]
        assert seen["names"] == "tcp-0:s.sock"
        assert seen["source_env"] is None and seen["left_in_env"] is None
        with socket.create_connection(listeners[0].getsockname(), timeout=60) as conn:
            assert conn.recv(64) == b"hello from %d" % child.pid
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(60)
            conn.connect(str(tmp_path / "s.sock"))
            assert conn.recv(64) == b"hello from %d" % child.pid
        assert child.wait(60) == 0
    finally:
        sockets.close_all(listeners)


def test_move_fds_handles_sources_inside_the_target_range() -> None:
    # In a fresh child: make fds 3 and 4 two different pipes, then ask for them swapped.
    code = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from listen_exec import move_fds
a, b = os.pipe(), os.pipe()
os.dup2(a[0], 3); os.dup2(b[0], 4)
ino3, ino4 = os.fstat(3).st_ino, os.fstat(4).st_ino
move_fds([4, 3])
print(os.fstat(3).st_ino == ino4 and os.fstat(4).st_ino == ino3)
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(SRC / "memwarden" / "supervisor")],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert out.strip() == "True"


ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"asgi ok"})


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi ok"]
"""


@pytest.mark.parametrize(
    ("server", "body"),
    [
        (["-m", "uvicorn", "app:app", "--fd", "3", "--log-level", "warning"], b"asgi ok"),
        (["-m", "gunicorn", "-w", "1", "--log-level", "warning", "app:wsgi"], b"wsgi ok"),
    ],
    ids=["uvicorn", "gunicorn"],
)
def test_real_servers_serve_on_the_inherited_socket(
    server: list[str], body: bytes, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    (tmp_path / "app.py").write_text(ASGI_APP)
    listeners = sockets.bind_all([sockets.parse_socket("tcp://127.0.0.1:0")])
    try:
        handoff = sockets.handoff(listeners)
        child = subprocess.Popen(
            handoff.wrap([sys.executable, *server]),
            env={**ENV, **handoff.env},
            pass_fds=handoff.pass_fds,
            cwd=tmp_path,
            process_group=0,
        )
        reaper.append(child)
        host, port = listeners[0].getsockname()
        # The socket listens already: the request waits in the backlog until the server is up.
        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, body)
        conn.close()
    finally:
        sockets.close_all(listeners)
