"""The page in a real browser: Debian's headless Chromium loads the file, the inline script
checks the chart's paths have a real size, and the screenshot shows a chart, not a blank page."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from memwarden.report.build import build_report
from tests.report.report_png import decode
from tests.report.report_traces import (
    PAYLOAD_TRACE_TEXT,
    START_S,
    injection_trace,
    realistic,
    snapshot,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


def chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
        *args, page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    trace = realistic(folder / "t.jsonl")
    snap = snapshot(folder / "s.json", START_S + 3000, 1.0)
    out = folder / "report.html"
    out.write_text(build_report(trace, [snap]).html(), encoding="utf-8")
    return out


def test_chart_renders(tmp_path: Path, page: Path) -> None:
    result = chromium(tmp_path, page, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-chart-rendered="yes"' in result.stdout


def test_screenshot_is_a_chart(tmp_path: Path, page: Path) -> None:
    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1240,900")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    width, height, rows = decode(shot.read_bytes())
    assert (width, height) == (1240, 900)
    pixels = [row[i:i + 3] for row in rows[::3] for i in range(0, len(row), 9)]
    colours = set(pixels)
    ink = sum(1 for p in pixels if p != b"\xff\xff\xff") / len(pixels)
    assert len(colours) > 200, len(colours)  # series, bands, tiers, text: many hues
    assert ink > 0.15, ink  # a blank or nearly blank page fails here
    # The headline series' blue (#0969da) is on screen, not just in the markup.
    assert any(abs(p[0] - 0x09) < 30 and abs(p[1] - 0x69) < 30 and abs(p[2] - 0xDA) < 30
               for p in pixels)


def test_injection_stays_text_in_the_browser(tmp_path: Path) -> None:
    out = tmp_path / "evil.html"
    out.write_text(build_report(injection_trace(tmp_path / "t.jsonl")).html(), encoding="utf-8")
    result = chromium(tmp_path, out, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert 'data-chart-rendered="yes"' in dom
    assert "<img" not in dom and "alert(1)</script>" not in dom
    assert PAYLOAD_TRACE_TEXT in dom  # shown as text, escaped by the serializer


def test_hover_readout(tmp_path: Path, page: Path) -> None:
    # Move the mouse to the middle of the plot, as a reader would, and read the readout back.
    probe = """<script>
    var svg = document.querySelector("svg.chart"), box = svg.getBoundingClientRect();
    svg.dispatchEvent(new MouseEvent("mousemove", {clientX: box.left + box.width / 2,
                                                   clientY: box.top + box.height / 3}));
    document.body.dataset.readout = document.querySelector(".readout").textContent;
    document.body.dataset.crosshair = svg.querySelector(".crosshair").getAttribute("visibility");
    </script></body>"""
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", probe), encoding="utf-8")
    result = chromium(tmp_path, probed, "--dump-dom", "--window-size=1240,900")
    assert result.returncode == 0, result.stderr[-2000:]
    readout = re.search(r'data-readout="([^"]*)"', result.stdout)
    assert readout is not None, result.stdout[:500]
    assert re.search(r"^\+\d+h\d\dm \(\d\d:\d\d:\d\d UTC\)  tree RSS \d+ MiB", readout.group(1))
    assert "% of the limit" in readout.group(1)
    assert 'data-crosshair="visible"' in result.stdout
