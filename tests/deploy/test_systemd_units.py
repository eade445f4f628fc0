"""deploy/systemd: the unit templates pass `systemd-analyze verify` and say what memwarden
needs for owned cgroups (Delegate=yes) and a graceful stop (KillMode=mixed); their ExecStart
runs options `memwarden run` accepts."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import child_env, memwarden_cmd

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
TEMPLATES = sorted(UNITS.glob("*@.service"))


def _service(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser["Service"]


def test_there_are_unit_templates() -> None:
    assert [p.name for p in TEMPLATES] == ["memwarden-user@.service", "memwarden@.service"]


@pytest.mark.parametrize("unit", TEMPLATES, ids=lambda p: p.name)
def test_units_delegate_and_stop_gracefully(unit: Path) -> None:
    service = _service(unit)
    assert service["Delegate"] == "yes"
    assert service["KillMode"] == "mixed"
    assert service["Type"] == "exec"
    argv = shlex.split(service["ExecStart"])
    assert argv[:3] == ["/usr/bin/env", "memwarden", "run"]
    # The options parse: `memwarden run --help` lists each long option the unit uses.
    usage = subprocess.run(memwarden_cmd("run", "--help"), env=child_env(), capture_output=True,
                           text=True, timeout=60).stdout
    for option in (a.split("=")[0] for a in argv[3:] if a.startswith("--")):
        assert option in usage, option


@pytest.mark.parametrize("unit", TEMPLATES, ids=lambda p: p.name)
def test_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    instance = tmp_path / unit.name.replace("@.", "@app.")
    instance.write_text(unit.read_text())
    done = subprocess.run([analyze, "verify", "--man=no", str(instance)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "memwarden" not in done.stderr, done.stderr  # no warning about this unit
