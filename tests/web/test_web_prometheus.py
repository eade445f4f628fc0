"""A real Prometheus scrapes /metrics of a two-worker gunicorn app (multiprocess mode) and the
figures are queried back from its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.web.web_helpers import (
    CALM,
    DEADLINE_S,
    Server,
    free_port,
    gunicorn_argv,
    uvicorn_argv,
)

PROMETHEUS = shutil.which("prometheus")
GIB = 1024**3


def _query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        payload = json.load(response)
    assert payload["status"] == "success", payload
    return list(payload["data"]["result"])


def _start_prometheus(tmp_path: Path, target_port: int,
                      reaper: list[subprocess.Popen[bytes]]) -> tuple[int, Path]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: memwarden\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
    )
    log_path = tmp_path / "prometheus.log"
    assert PROMETHEUS is not None
    with open(log_path, "wb") as log:
        reaper.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return port, log_path


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed "
                    "(Debian: apt-get install prometheus)")
def test_prometheus_scrapes_multiprocess_gunicorn(
    serve: Callable[..., Server], tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    argv = gunicorn_argv("asgi_app:app", "-k", "uvicorn.workers.UvicornWorker",
                         "-c", str(Path(__file__).parent / "apps" / "gunicorn_conf.py"))
    server = serve(argv, **CALM, MEMWARDEN_LIMIT="1G", PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    for item_id in range(20):  # let both workers refresh their gauges
        assert server.get(f"/items/{item_id}").status == 200
    text = server.get("/metrics").body.decode()
    assert 'memwarden_tree_rss_bytes{pid="' in text  # per-worker series (multiprocess_mode)

    port, log_path = _start_prometheus(tmp_path, server.port, reaper)
    deadline = time.monotonic() + DEADLINE_S
    series: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            series = _query(port, 'memwarden_tree_rss_bytes{job="memwarden"}')
        except OSError:
            series = []  # not listening yet
        if series:
            break
        time.sleep(0.2)  # polling Prometheus for its first scrape, with a deadline
    assert series, "no scrape within the deadline:\n" + log_path.read_text(errors="replace")

    assert _query(port, 'up{job="memwarden"}')[0]["value"][1] == "1"
    worker_pids = {s["metric"]["pid"] for s in series}
    assert worker_pids and all(pid.isdigit() for pid in worker_pids)
    for s in series:
        assert 10 * 1024**2 < float(s["value"][1]) < GIB  # one worker's tree: MBs, below 1 GiB

    def scalar(expr: str) -> float:
        result = _query(port, expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    assert scalar("memwarden_limit_bytes") == GIB  # the configured budget is the smallest
    usage = scalar("memwarden_usage_ratio")
    assert 0 < usage < 1
    assert scalar("memwarden_tier") == 0
    assert 0 < scalar("memwarden_headroom_bytes") < GIB
    assert scalar("memwarden_leak_rate_bytes_per_second") == 0
    assert scalar("memwarden_leak_eta_seconds") == float("inf")


def _gauge(multiproc: Path, name: str) -> float | None:
    """A gauge's value as a multiprocess /metrics would show it, read from the worker's files."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc))  # type: ignore[no-untyped-call]
    values = [sample.value for metric in registry.collect() for sample in metric.samples
              if sample.name == name]
    return max(values) if values else None


def test_the_guardian_samples_refresh_the_gauges_between_requests(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    # Requests do not refresh the gauges; each of the guardian's samples does, so an idle
    # worker's figures stay current in the files another worker's /metrics reads.
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    server = serve(uvicorn_argv("asgi_app:app"), **CALM, MEMWARDEN_LIMIT="1G",
                   PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    server.wait_for(lambda: _gauge(multiproc, "memwarden_tree_rss_bytes") is not None,
                    "the first refresh")
    before = _gauge(multiproc, "memwarden_tree_rss_bytes")
    assert before is not None and 10 * 1024**2 < before < GIB
    assert server.request("POST", "/grow?mib=64").status == 200  # the last request
    server.wait_for(lambda: (_gauge(multiproc, "memwarden_tree_rss_bytes") or 0)
                    >= before + 60 * 1024**2, "a sample after the growth to reach the gauge")
