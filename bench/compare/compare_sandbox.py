"""The peers, installed from their registries into bench/compare/.sandbox (git-ignored).

Versions are pinned so a rerun measures the same tools; bump them here on purpose.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SANDBOX = HERE / ".sandbox"
NPM_PEERS = ["pm2@7.0.4"]
PYPI_PEERS = ["supervisor==4.3.0", "superlance==2.0.0", "circus==0.19.0"]


@dataclass(frozen=True)
class Sandbox:
    root: Path

    @property
    def pm2_bin(self) -> Path:
        return self.root / "npm" / "node_modules" / "pm2" / "bin" / "pm2"

    @property
    def venv_bin(self) -> Path:
        return self.root / "venv" / "bin"


def ensure(root: Path = SANDBOX) -> Sandbox:
    """Install what is missing (npm and pip, their ordinary clients); idempotent."""
    box = Sandbox(root)
    root.mkdir(parents=True, exist_ok=True)
    if not box.pm2_bin.exists():
        if shutil.which("npm") is None:
            raise SystemExit("compare: npm is needed to install PM2 (apt-get install nodejs npm)")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(root / "npm"),
             *NPM_PEERS],
            check=True, stdout=subprocess.DEVNULL,
        )
    if not (box.venv_bin / "circusd").exists():
        subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
        subprocess.run(
            [str(box.venv_bin / "pip"), "install", "--quiet", *PYPI_PEERS],
            check=True,
        )
    return box


def versions(box: Sandbox) -> dict[str, str]:
    package = json.loads((box.pm2_bin.parent.parent / "package.json").read_text())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    probe = (
        "import importlib.metadata as m, sys;"
        "print(' '.join(m.version(n) for n in sys.argv[1:]))"
    )
    peers = subprocess.run(
        [str(box.venv_bin / "python"), "-c", probe, "supervisor", "superlance", "circus"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return {
        "pm2": f"{package['version']} (node {node.stdout.strip()})",
        "supervisor": peers[0],
        "superlance": peers[1],
        "circus": peers[2],
        "python (children)": platform.python_version(),
    }
