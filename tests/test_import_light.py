"""`import memwarden` must stay light: nothing heavy, no submodule, until first use."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import child_env

HEAVY = ("prometheus_client", "matplotlib", "httpx", "rich", "starlette", "psutil", "click",
         "typing", "threading", "logging", "ctypes", "tomllib")


def test_import_memwarden_loads_only_its_package_module() -> None:
    code = "import sys, memwarden; print(__import__('json').dumps(sorted(sys.modules)))"
    before = subprocess.run([sys.executable, "-c", "import sys, json; "
                             "print(json.dumps(sorted(sys.modules)))"],
                            env=child_env(), capture_output=True, text=True, check=True)
    after = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                           text=True, check=True)
    added = set(json.loads(after.stdout)) - set(json.loads(before.stdout))
    assert "memwarden" in added
    assert not [m for m in added if m.startswith("memwarden.")]
    assert not [m for m in added if m.split(".")[0] in HEAVY]
