"""The Kubernetes recipe (deploy/kubernetes/deployment.yaml) as a pod runs it, in a container's
view on cgroup v2: memwarden is the entrypoint with the manifest's arguments, the limit comes
from the cgroup (limits.memory), the probes' /health and /ready answer, SIGTERM stops it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cgroup2.v2_helpers import container_prefix, v2_container_reason
from tests.cgroup_helpers import v2_memory_cgroup
from tests.supervisor.sup_helpers import Running, wait_for

yaml = pytest.importorskip("yaml")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

pytestmark = [pytest.mark.cgroup,
              pytest.mark.skipif(v2_container_reason() is not None,
                                 reason=v2_container_reason() or "")]

REPO = Path(__file__).resolve().parents[2]
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
TOKEN = "probe-token"


def _container() -> dict[str, object]:
    with open(REPO / "deploy" / "kubernetes" / "deployment.yaml") as f:
        deployment = next(d for d in yaml.safe_load_all(f) if d and d["kind"] == "Deployment")
    container: dict[str, object] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _bytes(quantity: str) -> int:
    return int(quantity[:-2]) * UNITS[quantity[-2:]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""


def test_pod_recipe_in_a_container_view(
    supervise: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container()
    limit_bytes = _bytes(container["resources"]["limits"]["memory"])  # type: ignore[index]
    command = list(container["command"])  # type: ignore[call-overload]
    assert command[:2] == ["memwarden", "run"] and "--" in command
    split = command.index("--")
    memwarden_args, app = command[2:split], command[split + 1 :]
    assert app[0] == "uvicorn"
    port = _free_port()
    # The same app, on loopback and a free port; interpreters of this checkout.
    app = [sys.executable, "-m", "uvicorn",
           *(a for a in app[1:] if not a.startswith(("--host", "--port"))),
           "--host=127.0.0.1", f"--port={port}"]
    probes = {container[k]["httpGet"]["path"]  # type: ignore[index]
              for k in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes == {"/health", "/ready"}
    monkeypatch.chdir(REPO)  # uvicorn imports examples.fastapi_app from the working directory
    with v2_memory_cgroup(limit_bytes) as group:
        sup = supervise(*memwarden_args, prefix=container_prefix(group), command=app,
                        MEMWARDEN_ADMIN_TOKEN=TOKEN)
        wait_for(lambda: _get(port, "/health")[0] == 200, what="the startup probe")
        status, body = _get(port, "/ready")
        assert status == 200, body
        status, body = _get(port, "/memory", Authorization=f"Bearer {TOKEN}")
        assert status == 200, body
        memory = json.loads(body)
        assert memory["limit_bytes"] == limit_bytes and memory["limit_source"] == "cgroup"
        assert "detection: container-events" in sup.log, sup.log  # the pod's own memory.events
        os.kill(sup.proc.pid, signal.SIGTERM)  # the kubelet stopping the pod
        assert sup.exit_code() == 0, sup.log
