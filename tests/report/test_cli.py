from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import child_env
from tests.report.report_traces import START_S, realistic, snapshot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def report(*args: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    # `extra` runs before the CLI in the same interpreter (used to hide matplotlib).
    code = f"{extra}\nfrom memwarden.cli import main\nmain()"
    return subprocess.run([sys.executable, "-c", code, "report", *args], env=child_env(),
                          capture_output=True, text=True, timeout=120)


def test_writes_html_and_png(tmp_path: Path) -> None:
    trace = realistic(tmp_path / "t.jsonl", duration_s=1800, rate_mib_per_h=900)
    snap = snapshot(tmp_path / "s.json", START_S + 60, 0.5)
    out, png = tmp_path / "r.html", tmp_path / "c.png"
    result = report(str(trace), str(snap), "--out", str(out), "--png", str(png))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "1 restart, 1 OOM kill," in result.stdout
    assert "leak culprit: myapp.sync:SyncService.seen (set) +2,000 items" in result.stdout
    assert out.read_text().count('<svg class="chart"') == 1
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert width >= 800 and height >= 300


def test_default_output_next_to_the_trace(tmp_path: Path) -> None:
    trace = realistic(tmp_path / "t.jsonl", duration_s=120)
    result = report(str(trace))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.html").stat().st_size > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("", "not a memwarden trace"),
     ("just a log line\n", "not a memwarden trace"),
     ('{"type":"header","schema":"memwarden.trace/1"}\n', "no samples")],
)
def test_bad_trace_exits_2(tmp_path: Path, content: str | None, message: str) -> None:
    trace = tmp_path / "t.jsonl"
    if content is not None:
        trace.write_text(content)
    result = report(str(trace), "--out", str(tmp_path / "r.html"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(trace) in lines[0]
    assert not (tmp_path / "r.html").exists()


def test_bad_snapshot_exits_2(tmp_path: Path) -> None:
    trace = realistic(tmp_path / "t.jsonl", duration_s=60)
    (tmp_path / "s.json").write_text('{"schema": "memwarden.snapshot/9"}')
    result = report(str(trace), str(tmp_path / "s.json"))
    assert result.returncode == 2 and "not a memwarden snapshot" in result.stderr


def test_unwritable_output_exits_2(tmp_path: Path) -> None:
    trace = realistic(tmp_path / "t.jsonl", duration_s=60)
    result = report(str(trace), "--out", str(tmp_path / "missing-dir" / "r.html"))
    assert result.returncode == 2 and "cannot write" in result.stderr


def test_png_without_matplotlib_is_a_clear_error(tmp_path: Path) -> None:
    trace = realistic(tmp_path / "t.jsonl", duration_s=60)
    result = report(str(trace), "--png", str(tmp_path / "c.png"),
                    extra="import sys; sys.modules['matplotlib'] = None")
    assert result.returncode == 2
    assert "pip install 'memwarden[report]'" in result.stderr
