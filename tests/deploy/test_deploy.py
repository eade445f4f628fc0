"""deploy/ validates: Prometheus rules (promtool), manifests parse, and they use real endpoint
paths, metric names and `memwarden run` options."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import child_env

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
# The names the web middleware serves and exports (docs/reference/http.md).
ENDPOINTS = frozenset({"/health", "/ready", "/memory", "/metrics"})
METRICS = frozenset({
    "memwarden_working_set_bytes", "memwarden_tree_rss_bytes", "memwarden_limit_bytes",
    "memwarden_usage_ratio", "memwarden_tier", "memwarden_restarts_total",
    "memwarden_shed_requests_total", "memwarden_leak_rate_bytes_per_second",
    "memwarden_leak_eta_seconds",
})
METRIC_NAME = re.compile(r"\bmemwarden_[a-z_]+\b")


def load_yaml_docs(path: Path) -> list[Any]:
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    return path


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run([promtool(), "check", "rules", str(DEPLOY / "prometheus/alerts.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_promtool_unit_tests_fire_each_rule() -> None:
    result = subprocess.run([promtool(), "test", "rules", "alerts_test.yml"],
                            cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    rules = {r["alert"] for g in load_yaml_docs(DEPLOY / "prometheus/alerts.yml")[0]["groups"]
             for r in g["rules"]}
    tested = {t["alertname"] for case in load_yaml_docs(DEPLOY / "prometheus/alerts_test.yml")[0]
              ["tests"] for t in case["alert_rule_test"]}
    assert rules == tested


def test_rules_cover_the_issue() -> None:
    rules = {r["alert"]: r for g in load_yaml_docs(DEPLOY / "prometheus/alerts.yml")[0]["groups"]
             for r in g["rules"]}
    assert "< 3600" in rules["MemwardenLeakETAUnderOneHour"]["expr"]
    assert "memwarden_restarts_total" in rules["MemwardenRestartRate"]["expr"]
    assert rules["MemwardenTierCritical"]["for"] == "5m"
    assert ">= 2" in rules["MemwardenTierCritical"]["expr"]


def used_metric_names() -> dict[str, set[str]]:
    files = [DEPLOY / "prometheus/alerts.yml", DEPLOY / "grafana/dashboard.json"]
    return {f.name: set(METRIC_NAME.findall(f.read_text())) for f in files}


def test_only_agreed_metric_names_are_used() -> None:
    used = used_metric_names()
    for name, metrics in used.items():
        assert metrics, f"{name} uses no memwarden_ metric"
        assert metrics <= METRICS, f"{name} uses unknown metrics {metrics - METRICS}"
    assert set().union(*used.values()) == METRICS  # every exported figure is shown or alerted


# A live app: the WSGI middleware around a bare app, each endpoint asked in process, in a
# fresh interpreter (the guardian thread and prometheus_client's registry stay out of pytest).
LIVE_WEB = """
import json, sys
from wsgiref.util import setup_testing_defaults
from memwarden.web.wsgi import MemwardenWSGIMiddleware

def bare(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"the app"]

app = MemwardenWSGIMiddleware(bare)
answers = {}
for path in sys.argv[1:]:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    answers[path] = [status[0], body.decode()]
print(json.dumps(answers))
"""


def live_endpoints() -> dict[str, tuple[str, str]]:
    """path -> (status line, body) from a live middleware."""
    done = subprocess.run([sys.executable, "-c", LIVE_WEB, *sorted(ENDPOINTS)], env=child_env(),
                          capture_output=True, text=True, timeout=60, check=True)
    return {path: (status, body) for path, (status, body) in json.loads(done.stdout).items()}


def test_endpoints_and_metric_names_are_served() -> None:
    pytest.importorskip("prometheus_client")
    answers = live_endpoints()
    for path, (status, _body) in answers.items():
        assert not status.startswith("404"), f"{path} is not served: {status}"
    exposed = set(METRIC_NAME.findall(answers["/metrics"][1]))
    missing = METRICS - exposed
    assert not missing, f"/metrics does not expose {sorted(missing)}"


def test_kubernetes_deployment() -> None:
    docs = load_yaml_docs(DEPLOY / "kubernetes/deployment.yaml")
    kinds = {doc["kind"]: doc for doc in docs}
    assert set(kinds) == {"Deployment", "Service"}
    pod = kinds["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["command"][:2] == ["memwarden", "run"] and "--" in container["command"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["resources"]["limits"]["memory"] == "512Mi"
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    port = container["ports"][0]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port["containerPort"])
    assert pod["spec"]["terminationGracePeriodSeconds"] > 30  # longer than --grace=30s
    selector = kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    assert kinds["Service"]["spec"]["selector"] == selector


def paas_commands() -> dict[str, tuple[str, str | None]]:
    """file -> (start command, health check path)."""
    (render,) = load_yaml_docs(DEPLOY / "render.yaml")
    (service,) = render["services"]
    railway = json.loads((DEPLOY / "railway.json").read_text())["deploy"]
    procfile = dict(line.split(":", 1) for line in (DEPLOY / "Procfile").read_text().splitlines()
                    if line.strip())
    return {
        "render.yaml": (service["startCommand"], service["healthCheckPath"]),
        "railway.json": (railway["startCommand"], railway["healthcheckPath"]),
        "Procfile": (procfile["web"].strip(), None),
    }


def test_paas_start_memwarden_with_a_health_check() -> None:
    for name, (command, health) in paas_commands().items():
        argv = shlex.split(command)
        assert argv[:2] == ["memwarden", "run"] and "--" in argv, name
        assert "$PORT" in argv, f"{name}: the platform's port must be used"
        assert health is None or health in ENDPOINTS, name


def run_options_used() -> set[str]:
    commands = [c for c, _ in paas_commands().values()]
    (deployment, _service) = load_yaml_docs(DEPLOY / "kubernetes/deployment.yaml")
    k8s = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    argvs = [shlex.split(c) for c in commands] + [k8s]
    return {arg.split("=", 1)[0] for argv in argvs for arg in argv[2:argv.index("--")]
            if arg.startswith("--")}


def test_run_options_exist() -> None:
    from memwarden.supervisor.cli import run

    known = {opt for param in run.params for opt in param.opts}
    assert run_options_used() <= known, f"unknown options {run_options_used() - known}"
