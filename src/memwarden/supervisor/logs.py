"""Log output: the supervisor's events and own lines, and its children's stdout/stderr.

The text log and the JSON log are one subscriber of the supervisor's event bus
(`LogSink.on_event`): an event renders as `memwarden <level>: [name] <message>`, or as a
JSON object with `kind` and the event's figures. Diagnostic lines that are not events (a PSI
trigger armed, an orphan reaped) go through `LogSink.event` and render the same way.
Child lines pass through with a timestamp and a `[name]` prefix (stdout to stdout, stderr to
stderr); `--json` makes every line a JSON object; `--log-dir` also writes `<name>.log` per
program and `memwarden.log` for the supervisor, rotated by size (`name.log.1` ...).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from memwarden.files import LOG_MODE, open_append

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from memwarden.events import Event

MAX_LINE_BYTES = 64 * 1024  # a child that never writes a newline is still passed through


def _stamp(now_s: float) -> str:
    millis = int(now_s % 1 * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now_s)) + f".{millis:03d}"


class RotatingFile:
    """Append-only file rotated at max_bytes into name.1 .. name.<backups>."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._file = open_append(path, LOG_MODE, errors="replace")
        self._size = self._file.tell()

    def write(self, text: str) -> None:
        data_len = len(text.encode("utf-8", "replace"))
        if self._size and self._size + data_len > self.max_bytes:
            self._rotate()
        self._file.write(text)
        self._file.flush()
        self._size += data_len

    def _rotate(self) -> None:
        self._file.close()
        if self.backups > 0:
            for index in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._file = open_append(self.path, LOG_MODE, errors="replace")
        self._size = 0

    def close(self) -> None:
        self._file.close()


class LogSink:
    def __init__(self, *, json_logs: bool = False, log_dir: Path | None = None,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.json_logs = json_logs
        self.log_dir = log_dir
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._files: dict[str, RotatingFile] = {}
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._files["memwarden"] = RotatingFile(log_dir / "memwarden.log", 10 * 1024**2, 3)

    def open_program(self, name: str, max_bytes: int, backups: int) -> None:
        if self.log_dir is not None and name not in self._files:
            self._files[name] = RotatingFile(self.log_dir / f"{name}.log", max_bytes, backups)

    def on_event(self, event: Event) -> None:
        """The bus subscriber: one line per event, its figures as JSON fields."""
        fields = {"kind": event.kind, **({"tier": event.tier} if event.tier else {}),
                  **event.figures}
        self.event(event.level, event.message, program=event.program, now_s=event.time_s,
                   **fields)

    def event(self, level: str, message: str, *, program: str | None = None,
              now_s: float | None = None, **fields: Any) -> None:
        """One supervisor line: `memwarden: [name] message`, or a JSON object with fields."""
        now_s = time.time() if now_s is None else now_s
        if self.json_logs:
            record = {"time": now_s, "level": level, "source": "memwarden", "program": program,
                      "message": message, **fields}
            line = json.dumps(record, default=str)
        else:
            prefix = f"[{program}] " if program else ""
            line = f"{_stamp(now_s)} memwarden {level}: {prefix}{message}"
        self._write(self._err, line)
        if "memwarden" in self._files:
            self._files["memwarden"].write(line + "\n")

    def child_line(self, program: str, stream: str, data: bytes) -> None:
        now_s = time.time()
        text = data.decode("utf-8", "replace").rstrip("\n")
        if self.json_logs:
            line = json.dumps({"time": now_s, "program": program, "stream": stream, "line": text})
        else:
            line = f"{_stamp(now_s)} [{program}] {text}"
        self._write(self._out if stream == "stdout" else self._err, line)
        target = self._files.get(program)
        if target is not None:
            target.write(line + "\n")

    @staticmethod
    def _write(stream: TextIO, line: str) -> None:
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not take the supervisor (and its children) down

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


class LineBuffer:
    """Split a non-blocking pipe's chunks into lines; a tail with no newline waits."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_LINE_BYTES:
            lines.append(self._pending)
            self._pending = b""
        return lines

    def flush(self) -> list[bytes]:
        tail, self._pending = self._pending, b""
        return [tail] if tail else []
