"""The report screenshot shown in the README and the docs is what memwarden draws today."""

from __future__ import annotations

from pathlib import Path

from tests.docs.report_shot import PNG, STAMP, html_digest, render_report


def test_the_screenshot_is_a_small_png() -> None:
    data = PNG.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) < 300_000


def test_the_screenshot_shows_todays_report(tmp_path: Path) -> None:
    html = render_report(tmp_path)
    assert html_digest(html) == STAMP.read_text().strip(), (
        "the report of tests/docs/demo-trace.jsonl.gz changed since docs/assets/report.png was "
        "taken: run `python tests/docs/report_shot.py` and commit the new PNG")
