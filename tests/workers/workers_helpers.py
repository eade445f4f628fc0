"""Helpers for real multi-worker servers: ports, readiness, slow requests held on FIFOs."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psutil

DEADLINE_S = 60.0

WSGI_APP = '''
import os
HOLD = []

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/alloc":
        HOLD.append(b"x" * (int(environ["QUERY_STRING"] or "160") * 1024 * 1024))
    elif path.startswith("/slow/"):
        tag = path.rsplit("/", 1)[1]
        directory = os.environ["SLOW_DIR"]
        marker = os.path.join(directory, "started-" + tag)
        with open(marker + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(marker + ".tmp", marker)
        with open(os.path.join(directory, "release-" + tag)) as fifo:  # blocks until released
            fifo.read()
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''

ASGI_APP = '''
import asyncio
import os
from memwarden.workers.uvicorn import RecycleMiddleware
HOLD = []

def _hold(tag):
    directory = os.environ["SLOW_DIR"]
    marker = os.path.join(directory, "started-" + tag)
    with open(marker + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(marker + ".tmp", marker)
    with open(os.path.join(directory, "release-" + tag)) as fifo:
        fifo.read()

async def inner(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].replace("lifespan.", "")
            await send({"type": "lifespan." + kind + ".complete"})
            if kind == "shutdown":
                return
    path = scope["path"]
    if path == "/alloc":
        HOLD.append(b"x" * (int(scope["query_string"] or b"160") * 1024 * 1024))
    elif path.startswith("/slow/"):
        await asyncio.to_thread(_hold, path.rsplit("/", 1)[1])
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})

app = RecycleMiddleware(inner)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout_s: float = DEADLINE_S) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return int(response.status), response.read().decode()


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = DEADLINE_S) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling a condition with a deadline, not a synchronising sleep
    raise AssertionError(f"timed out waiting for {what}")


def worker_pids(master: subprocess.Popen[bytes]) -> set[int]:
    """Live worker processes (not zombies) of the server's master process."""
    try:
        children = psutil.Process(master.pid).children()
    except psutil.NoSuchProcess:
        return set()
    pids = set()
    for child in children:
        try:
            # uvicorn's spawned workers come with multiprocessing's resource tracker: not a worker.
            if child.status() != psutil.STATUS_ZOMBIE and not any(
                "resource_tracker" in part for part in child.cmdline()
            ):
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return pids


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def serving(base_url: str) -> bool:
    try:
        return get(base_url + "/pid", timeout_s=5)[0] == 200
    except OSError:
        return False


class SlowRequests:
    """Requests held open inside the app until released through a FIFO."""

    def __init__(self, base_url: str, directory: Path) -> None:
        self.base_url = base_url
        self.directory = directory
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.futures: dict[str, Future[tuple[int, str]]] = {}
        self.pids: dict[str, int] = {}

    def start(self, tag: str) -> int:
        os.mkfifo(self.directory / f"release-{tag}")
        self.futures[tag] = self.pool.submit(get, f"{self.base_url}/slow/{tag}")
        marker = self.directory / f"started-{tag}"
        wait_until(marker.exists, f"slow request {tag} to start")
        self.pids[tag] = int(marker.read_text())
        return self.pids[tag]

    def release(self, tag: str) -> tuple[int, str]:
        with open(self.directory / f"release-{tag}", "w") as fifo:  # opens once the app reads
            fifo.write("go")
        return self.futures[tag].result(timeout=DEADLINE_S)

    def close(self) -> None:
        for tag, future in self.futures.items():
            if not future.done():
                _release_quietly(self.directory / f"release-{tag}")
        self.pool.shutdown(wait=False, cancel_futures=True)


def _release_quietly(fifo: Path) -> None:
    """Open and close the FIFO's write end, so a reader blocked in open() sees EOF."""
    # ENXIO: nobody has it open for reading (the server is gone): nothing to release.
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def recycle_while_slow_request_completes(
    master: subprocess.Popen[bytes], base_url: str, slow: SlowRequests,
    draining: Callable[[int], bool],
) -> int:
    """Push a worker with a slow request in flight over its max; it finishes that request,
    exits and is replaced while the other worker keeps serving. Returns the recycled pid.
    draining(pid): the server's log shows that worker has begun its graceful exit."""
    wait_until(lambda: len(worker_pids(master)) == 2 and serving(base_url), "2 workers serving")
    slow.start("a")
    slow.start("b")
    target = None
    for _ in range(16):
        status, body = get(base_url + "/alloc")
        assert status == 200  # the request that crossed the max completes normally
        pid = int(body)
        if any(p == pid for p in slow.pids.values()):
            target = pid
            break
        # Landed on a worker with nothing else in flight: it is recycled at once; try again.
        wait_until(lambda pid=pid: not alive(pid), f"idle worker {pid} to be recycled")
    assert target is not None, "no allocation landed on a worker holding a slow request"
    wait_until(lambda: draining(target), f"worker {target} to begin its graceful exit")
    assert alive(target)  # draining: still there while its slow request runs
    answered = {int(get(base_url + "/pid")[1]) for _ in range(6)}
    assert answered - {target}, "no other worker served while the recycled one drained"
    for tag, pid in slow.pids.items():
        if pid == target:
            assert slow.release(tag) == (200, str(target))  # in-flight request completed
    wait_until(lambda: not alive(target), f"worker {target} to exit")
    wait_until(lambda: len(worker_pids(master)) == 2 and target not in worker_pids(master)
               and serving(base_url), "a replacement worker")
    for tag, pid in slow.pids.items():
        if pid != target:
            assert slow.release(tag) == (200, str(pid))
    return target
