"""The docs site: `mkdocs build --strict` passes, and in headless Chromium every page renders
and every internal link (page and anchor) leads somewhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CRAWLER = Path(__file__).resolve().parent / "crawl.html"

pytest.importorskip("mkdocs", reason="the docs extra (mkdocs, mkdocs-material) is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "--site-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return out


def test_the_site_builds_strictly_with_every_nav_page(site: Path) -> None:
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("index.html"))
    for expected in ("index.html", "getting-started/demo/index.html",
                     "reference/cli/index.html", "benchmarks/comparison/index.html"):
        assert expected in pages


class _Handler(SimpleHTTPRequestHandler):
    results: list[dict[str, Any]]
    arrived: threading.Event

    def do_POST(self) -> None:  # the crawler reports here
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.results.append(json.loads(body))
        self.arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(site: Path) -> Iterator[tuple[str, list[dict[str, Any]], threading.Event]]:
    pages = sorted("/" + str(p.parent.relative_to(site)).removeprefix(".") + "/"
                   for p in site.rglob("index.html"))
    pages = [p.replace("//", "/") for p in pages]
    crawler = CRAWLER.read_text().replace("PAGES_JSON", json.dumps(pages))
    (site / "__crawl.html").write_text(crawler)
    results: list[dict[str, Any]] = []
    arrived = threading.Event()
    handler = type("Handler", (_Handler,), {"results": results, "arrived": arrived})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/__crawl.html", results, arrived
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_every_page_renders_and_no_internal_link_is_broken(
        served: tuple[str, list[dict[str, Any]], threading.Event], tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/install-system installs it)")
    url, results, arrived = served
    chrome = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu",
                               f"--user-data-dir={tmp_path / 'profile'}", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert arrived.wait(180), "the crawler page never reported"
    finally:
        chrome.terminate()
        chrome.wait(30)
    report = results[0]
    assert report["pages"] >= 25, report
    assert report["links"] > 100, report
    assert report["problems"] == [], "\n".join(report["problems"])
