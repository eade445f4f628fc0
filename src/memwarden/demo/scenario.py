"""The demo's settings, time-compressed so the whole story fits in `--duration`, written as
the memwarden.toml the supervisor and the service's guardian both read (the user can rerun it:
`memwarden run --config DIR/memwarden.toml`)."""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

LIMIT = "256M"
LIMIT_BYTES = 256 * 2**20
PROGRAM = "webhooks"
ID_BYTES = 1024  # one kept record: few large objects, so tracemalloc stays cheap
BYTES_PER_ID = 1120  # measured: str + malloc overhead + set slot
BASELINE_BYTES = 40 * 2**20  # interpreter + memwarden + wsgiref, measured ~35-45 MiB
RESTART_AT = 0.55  # of the duration: the restart lands here, leaving time to show the rest
FEED_SHARE = 0.5  # of the growth from the background feed (it goes on while load is shed)
REQUESTS_PER_S = 40


@dataclass(frozen=True, slots=True)
class Scenario:
    out_dir: Path
    duration_s: float
    port: int
    control_socket: Path

    @property
    def trace_path(self) -> Path:
        return self.out_dir / "trace.jsonl"

    @property
    def supervisor_trace_path(self) -> Path:
        """The supervisor's events (starts, restarts, exits) and its samples."""
        return self.out_dir / "supervisor.jsonl"

    @property
    def state_path(self) -> Path:
        return self.out_dir / "state.json"

    @property
    def config_path(self) -> Path:
        return self.out_dir / "memwarden.toml"

    @property
    def log_path(self) -> Path:
        return self.out_dir / "memwarden-run.log"

    @property
    def report_path(self) -> Path:
        return self.out_dir / "report.html"

    @property
    def growth_bytes_per_s(self) -> float:
        """Reach the restart tier (95 %) at RESTART_AT of the duration."""
        return (0.95 * LIMIT_BYTES - BASELINE_BYTES) / (RESTART_AT * self.duration_s)

    @property
    def feed_ids_per_s(self) -> int:
        return int(self.growth_bytes_per_s * FEED_SHARE / BYTES_PER_ID)

    @property
    def ids_per_request(self) -> int:
        return max(1, int(self.growth_bytes_per_s * (1 - FEED_SHARE) / BYTES_PER_ID
                          / REQUESTS_PER_S))

    @property
    def leak_min_window_s(self) -> int:
        # Long enough to see a trend, short enough to detect in the first quarter.
        return max(5, round(self.duration_s * 0.15))

    def command(self) -> list[str]:
        return [sys.executable, "-m", "memwarden.demo", "--port", str(self.port),
                "--state", str(self.state_path), "--feed-ids-per-s", str(self.feed_ids_per_s),
                "--id-bytes", str(ID_BYTES)]

    def toml(self) -> str:
        q = json.dumps  # a JSON string is a valid TOML basic string
        command = ", ".join(q(part) for part in self.command())
        return f"""\
# Written by `memwarden demo`. Rerun the service alone with:
#   memwarden run --config {q(str(self.config_path))[1:-1]}
# The top level is the in-process guardian of the service (MEMWARDEN_CONFIG points here):
# it sheds load at `critical`; the supervisor below does the restart.
limit = {q(LIMIT)}
restart = "off"
interval = "200ms"
metric = "tree_rss"
trace = {q(str(self.trace_path))}

[leak]
min_window = "{self.leak_min_window_s}s"
trace_window = "3s"

[web]
retry_after = 1

[supervisor]
json = true
trace = {q(str(self.supervisor_trace_path))}
grace = "10s"
control_socket = {q(str(self.control_socket))}

[[program]]
name = {q(PROGRAM)}
command = [{command}]
cwd = {q(str(self.out_dir))}
limit = {q(LIMIT)}
# memwarden binds the port once and hands it to every generation: while one generation
# drains and the next starts, connections wait in the backlog instead of being refused.
socket = "tcp://127.0.0.1:{self.port}"
"""

    def write(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (self.trace_path, self.supervisor_trace_path, self.state_path,
                      self.report_path):
            stale.unlink(missing_ok=True)
        self.config_path.write_text(self.toml(), encoding="utf-8")


def free_port() -> int:
    """A free loopback port (the service binds it a moment later; a clash is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
