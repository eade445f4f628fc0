"""`python -m build` makes an sdist and a wheel with what a user needs, and the wheel works in
a fresh venv (no system site-packages, no checkout on the path): --version, check, a short demo.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
pytest.importorskip("build", reason="the test extra's `build` is not installed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _version() -> str:
    text = (ROOT / "src" / "memwarden" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match, "memwarden/__init__.py has no __version__"
    return match.group(1)


def test_the_wheel_and_the_sdist_carry_what_a_user_needs(dist: Path) -> None:
    version = _version()
    with zipfile.ZipFile(dist / f"memwarden-{version}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"memwarden-{version}.dist-info/METADATA").decode()
    for needed in ("memwarden/py.typed", "memwarden/demo/app.py", "memwarden/cli/__init__.py",
                   "memwarden/examples/leaky_app.py", "memwarden/examples/counter_server.py",
                   "memwarden/examples/fastapi_app.py"):
        assert needed in names, needed
    assert f"Version: {version}" in metadata and "Requires-Python: >=3.11" in metadata
    assert "Provides-Extra: docs" in metadata
    with tarfile.open(dist / f"memwarden-{version}.tar.gz") as archive:
        sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("README.md", "CHANGELOG.md", "mkdocs.yml", "docs/index.md",
                   "examples/counter_server.py", "src/memwarden/py.typed"):
        assert needed in sdist, needed


def test_the_wheel_runs_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    wheel = next(dist.glob("memwarden-*.whl"))
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)],
                             capture_output=True, text=True, timeout=600, env=env)
    assert install.returncode == 0, install.stderr[-3000:]
    memwarden = str(env_dir / "bin" / "memwarden")

    def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([memwarden, *args], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=tmp_path)

    where = subprocess.run([str(python), "-c", "import memwarden; print(memwarden.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert str(env_dir) in where.stdout  # the wheel's copy, not the checkout's

    version = run("--version")
    assert version.returncode == 0 and _version() in version.stdout

    check = run("check")
    assert check.returncode in (0, 1, 3, 4), check.stderr  # the tier of this machine
    assert "effective limit" in check.stdout

    demo = run("demo", "--duration", "20s", "--plain", "--out", str(tmp_path / "demo"),
               timeout=300)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "0 failed requests" in demo.stdout
    assert (tmp_path / "demo" / "report.html").stat().st_size > 10_000
