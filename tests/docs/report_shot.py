"""The report screenshot in the README and the docs, and the proof that it is current.

    python tests/docs/report_shot.py     # after a change to the report: redraw the PNG

docs/assets/report.png is headless Chromium's picture of `memwarden report` on a recorded demo
trace (demo-trace.jsonl.gz beside this file). report-html.sha256 holds the hash of the HTML it
was taken from; tests/docs/test_report_shot.py fails when today's report of the same trace
hashes differently, i.e. when the picture no longer shows what memwarden draws.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TRACE_GZ = HERE / "demo-trace.jsonl.gz"
STAMP = HERE / "report-html.sha256"
PNG = ROOT / "docs" / "assets" / "report.png"
WINDOW = "1000,720"  # the cards and the chart, small enough for a README


def render_report(workdir: Path) -> Path:
    """The HTML report of the recorded trace, written into `workdir`."""
    trace = workdir / "trace.jsonl"  # the footer names the file: keep the name fixed
    trace.write_bytes(gzip.decompress(TRACE_GZ.read_bytes()))
    html = workdir / "report.html"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-m", "memwarden", "report", str(trace), "--out", str(html)],
                   check=True, env=env, capture_output=True, text=True)
    return html


def html_digest(html: Path) -> str:
    return hashlib.sha256(html.read_bytes()).hexdigest()


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def main() -> int:
    browser = chromium()
    if browser is None:
        print("chromium is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        html = render_report(Path(tmp))
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--window-size={WINDOW}",
                        f"--screenshot={PNG}", html.as_uri()],
                       check=True, capture_output=True, timeout=120)
        STAMP.write_text(html_digest(html) + "\n")
    print(f"wrote {PNG.relative_to(ROOT)} and {STAMP.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
