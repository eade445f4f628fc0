"""`memwarden run --health-url / --watchdog`: a hung child is restarted with reason watchdog."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from tests.supervisor.sup_helpers import Running, wait_for

# First generation: answers its health URL a few times, then hangs (the handler blocks).
HEALTH = """
    import os, sys, threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    marker, port = sys.argv[1], int(sys.argv[2])
    first = not os.path.exists(marker)
    with open(marker, "a") as f:
        f.write(f"{os.getpid()}\\n")
    answered = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            answered[0] += 1
            if first and answered[0] > 3:
                threading.Event().wait(600)  # hung
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    HTTPServer.allow_reuse_address = True
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

# First generation: READY=1, three WATCHDOG=1, then silence; later ones keep pinging.
NOTIFY = """
    import os, sys, threading
    from memwarden import notify_ready, notify_watchdog
    marker = sys.argv[1]
    first = not os.path.exists(marker)
    with open(marker, "a") as f:
        f.write(f"{os.getpid()} {os.environ['WATCHDOG_USEC']}\\n")
    notify_ready()
    pause = threading.Event()
    pings = 0
    while not first or pings < 3:
        notify_watchdog()
        pings += 1
        pause.wait(0.05)
    pause.wait(600)  # hung: no more WATCHDOG=1
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_child_that_stops_answering_its_health_url_is_restarted(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    marker, port = tmp_path / "generations", free_port()
    sup = supervise("--health-url", f"http://127.0.0.1:{port}/health", "--health-interval",
                    "100ms", "--health-timeout", "300ms", "--health-failures", "2",
                    # a slow start of the next generation (refused) must not count
                    "--health-start-period", "60s", "--grace", "2s",
                    command=[*script("health", HEALTH), str(marker), str(port)])
    log = sup.wait_log("restart (watchdog)")
    assert "consecutive health probes of" in log and "timed out after 0.3s" in log
    wait_for(lambda: len(marker.read_text().split()) >= 2, what="the next generation")
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert sup.log.count("restart (watchdog)") == 1  # the new generation answers


def test_child_that_stops_sending_watchdog_is_restarted(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    marker = tmp_path / "generations"
    # 3 s, not less: a loaded machine can take seconds to start the next generation's Python.
    sup = supervise("--watchdog", "3s", "--grace", "2s",
                    command=[*script("notify", NOTIFY), str(marker)])
    log = sup.wait_log("restart (watchdog)")
    assert "no WATCHDOG=1 for" in log and "WATCHDOG_USEC=3000000" in log
    wait_for(lambda: len(marker.read_text().splitlines()) >= 2, what="the next generation")
    assert marker.read_text().split()[1] == "3000000"  # WATCHDOG_USEC handed to the child
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    assert sup.log.count("restart (watchdog)") == 1  # the new generation keeps pinging
