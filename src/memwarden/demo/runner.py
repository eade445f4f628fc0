"""Run the demo: the service under `memwarden run`, the load, the live screen, the report.

The supervisor is a child in its own session (Ctrl-C reaches only the demo, which then stops
it gracefully). Its JSON lines go to DIR/memwarden-run.log (a file, not a pipe); that file
and the service's trace are tailed for samples and events.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from memwarden.demo.load import LoadClient, LoadStats
from memwarden.demo.scenario import ID_BYTES, REQUESTS_PER_S, Scenario, free_port
from memwarden.demo.screen import Screen
from memwarden.demo.story import Story, read_new_records
from memwarden.errors import MemwardenError

FRAME_S = 0.25
READY_TIMEOUT_S = 60.0
OVERTIME_S = 60.0  # on a slow machine, wait this much longer for the restart to happen
SENDERS = 4
SUPERVISOR_KINDS = ("restart", "oom_kill")  # what the report marks on the service's chart


class DemoError(MemwardenError):
    """The demo could not run (the service never became ready, the supervisor died)."""


# The supervisor runs under this /bin/sh wrapper, whose stdin is a pipe from the demo: when the
# pipe closes (the demo stops it, or dies, even of SIGKILL) the supervisor gets exactly one
# SIGTERM, a graceful stop. (PR_SET_PDEATHSIG from a threaded parent fires once per exiting
# thread: measured twice here, and a second SIGTERM makes memwarden run kill at once.)
STOP_ON_EOF = (
    'exec 3<&0; "$@" 3<&- </dev/null & child=$!; '
    '(read -r _ <&3; kill -TERM "$child" 2>/dev/null) & watcher=$!; exec 3<&-; '
    'wait "$child"; status=$?; kill "$watcher" 2>/dev/null; exit "$status"'
)


class Demo:
    def __init__(self, scenario: Scenario, screen: Screen) -> None:
        self.scenario = scenario
        self.screen = screen
        self.story = Story(started_s=time.time())
        self.load: LoadClient | None = None
        self.supervisor: subprocess.Popen[bytes] | None = None
        self._trace_offset = 0
        self._log_offset = 0
        self._supervisor_offset = 0

    def run(self) -> dict[str, Any]:
        s = self.scenario
        s.write()
        try:
            self._start_supervisor()
            self._wait_ready()
            self.load = LoadClient(s.port, senders=SENDERS, requests_per_s=REQUESTS_PER_S,
                                   ids_per_request=s.ids_per_request, id_bytes=ID_BYTES).start()
            self._play()
            self.load.stop()
            self._stop_supervisor()
            self._frame()
            self.screen.finish_live()
        except BaseException:
            if self.load is not None:
                self.load.stop(5.0, abort=True)
            self._stop_supervisor()
            raise
        finally:
            self._frame()  # the last lines of both files
        self._append_restarts()
        return self._summary(self.load.snapshot())

    # -- phases -------------------------------------------------------------------------------
    def _start_supervisor(self) -> None:
        s = self.scenario
        env = dict(os.environ, MEMWARDEN_CONFIG=str(s.config_path))
        # Output to a file, not a pipe: if the demo dies, the supervisor can still write while
        # it stops the service gracefully (pdeathsig), and the log stays complete.
        with open(s.log_path, "wb") as log:
            self.supervisor = subprocess.Popen(
                ["/bin/sh", "-c", STOP_ON_EOF, "sh", sys.executable, "-m", "memwarden", "run",
                 "--config", str(s.config_path)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=s.out_dir,
                env=env, start_new_session=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self._frame()
            with self.story.lock:
                if any(m.kind == "ready" for m in self.story.milestones):
                    return
            assert self.supervisor is not None
            if self.supervisor.poll() is not None:
                raise DemoError(f"memwarden run exited with status {self.supervisor.returncode} "
                                f"before the service was ready; see "
                                f"{self.scenario.log_path}")
            threading.Event().wait(FRAME_S)
        raise DemoError(f"the service was not ready within {READY_TIMEOUT_S:.0f}s")

    def _play(self) -> None:
        """Until --duration has passed and the story reached a restart with state restored and
        the culprit named (or OVERTIME_S more, on a machine too slow for that)."""
        duration_s = self.scenario.duration_s
        started = time.monotonic()
        while True:
            elapsed_s = time.monotonic() - started
            self._frame()
            with self.story.lock:
                story = self.story
                done = bool(story.restarts and story.restored and story.culprits)
            if elapsed_s >= duration_s and (done or elapsed_s >= duration_s + OVERTIME_S):
                return
            threading.Event().wait(FRAME_S)

    def _stop_supervisor(self) -> None:
        supervisor = self.supervisor
        if supervisor is None:
            return
        if supervisor.poll() is not None:
            if supervisor.stdin is not None:
                supervisor.stdin.close()
            return
        assert supervisor.stdin is not None
        supervisor.stdin.close()  # one SIGTERM: the service stops gracefully, state saved
        try:
            supervisor.wait(30.0)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait(10.0)

    def _frame(self) -> None:
        records, self._trace_offset = read_new_records(self.scenario.trace_path,
                                                       self._trace_offset)
        for record in records:
            self.story.trace_record(record)
        records, self._supervisor_offset = read_new_records(
            self.scenario.supervisor_trace_path, self._supervisor_offset)
        for record in records:
            self.story.supervisor_event(record)
        records, self._log_offset = read_new_records(self.scenario.log_path, self._log_offset)
        for record in records:
            self.story.output_record(record)
        load = self.load.snapshot() if self.load is not None else LoadStats()
        elapsed_s = time.time() - self.story.started_s
        self.screen.update(self.story, load, elapsed_s, self.scenario.duration_s)

    # -- artefacts ----------------------------------------------------------------------------
    def _append_restarts(self) -> None:
        """The supervisor's restarts and OOM kills, copied from its trace into the service's,
        so the report marks them (the service's own trace only knows it was stopped). Written
        after every writer has exited. Source `supervisor`: they belong to the service's
        series, which has no program name."""
        path = self.scenario.trace_path
        if not path.exists():
            return
        records, _ = read_new_records(self.scenario.supervisor_trace_path, 0)
        lines = [json.dumps({**record, "source": "supervisor"}) for record in records
                 if record.get("type") == "event" and record.get("kind") in SUPERVISOR_KINDS]
        if lines:
            with open(path, "a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")

    def _summary(self, load: LoadStats) -> dict[str, Any]:
        story = self.story
        latencies = sorted(load.latencies_s)
        p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else None
        return {
            "duration_s": self.scenario.duration_s,
            "limit_bytes": story.limit_bytes,
            "peak_bytes": story.peak_bytes,
            "requests": {"sent": load.sent, "ok": load.ok, "failed": load.failed,
                         "retries": load.retries, "shed_503": load.shed,
                         "refused": load.refused, "other": load.other,
                         "p99_latency_s": p99},
            "leak": story.leaks[0] if story.leaks else None,  # the first detection
            "leak_detections": len(story.leaks),
            "culprit": story.culprits[0] if story.culprits else None,
            "restarts": story.restarts,
            "state_saved": story.saved,
            "state_restored": story.restored,
            "milestones": [{"t": round(m.time_s - story.started_s, 2), "kind": m.kind,
                            "text": m.text} for m in story.milestones],
            "trace": str(self.scenario.trace_path),
            "report": str(self.scenario.report_path),
        }


def new_scenario(out_dir: Path, duration_s: float) -> Scenario:
    # A Unix socket path must stay under ~108 bytes: keep it out of a deep --out directory.
    control = Path(tempfile.mkdtemp(prefix="memwarden-demo-")) / "control.sock"
    return Scenario(out_dir=out_dir.resolve(), duration_s=duration_s, port=free_port(),
                    control_socket=control)
