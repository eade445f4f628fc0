"""`memwarden config` and `memwarden run --print-config`: every setting, its value and source."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from memwarden.settings.registry import all_settings
from tests.helpers import child_env, memwarden_cmd

TOML = '''limit = "1G"
[supervisor]
grace = "3s"
[web]
max_body = "2M"
[[program]]
name = "api"
command = "sleep 100"
max_restarts = 2
'''


def _memwarden(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in child_env().items() if not k.startswith("MEMWARDEN_")}
    return subprocess.run(memwarden_cmd(*args), cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_json_lists_every_setting_with_its_source(tmp_path: Path) -> None:
    (tmp_path / "memwarden.toml").write_text(TOML)
    result = _memwarden(tmp_path, "config", "--json", MEMWARDEN_INTERVAL="2s",
                        MEMWARDEN_WEBHOOK_URL="http://127.0.0.1:9/hook")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["config_file"] == str(tmp_path / "memwarden.toml")
    rows = {(r["table"], r["key"]): r for r in document["settings"]}
    assert rows[("", "limit")] == {"table": "", "key": "limit", "value": "1G", "source": "file",
                                   "from": "limit"}
    assert rows[("", "interval")]["source"] == "env"
    assert rows[("", "interval")]["from"] == "MEMWARDEN_INTERVAL"
    assert rows[("", "warn")] == {"table": "", "key": "warn", "value": "70%",
                                  "source": "default", "from": ""}
    assert rows[("program[api]", "grace")]["from"] == "supervisor.grace"  # [supervisor] default
    assert rows[("program[api]", "max_restarts")]["value"] == "2"
    assert rows[("web", "max_body")]["value"] == "2M"
    assert rows[("alerts", "url")]["from"] == "MEMWARDEN_WEBHOOK_URL"  # an older name
    shown = {(r["table"] or "guard", r["key"]) for r in document["settings"]}
    sections = {"program[api]": "program"}
    shown = {(sections.get(t, t), k) for t, k in shown}
    assert {(s.section, s.key) for s in all_settings()} <= shown


def test_text_names_the_file_and_an_explicit_config(tmp_path: Path) -> None:
    own = tmp_path / "elsewhere.toml"
    own.write_text('sustain = "2s"\n')
    result = _memwarden(tmp_path, "config", "--config", str(own))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"# config file: {own}"
    line = next(x for x in result.stdout.splitlines() if x.startswith("sustain = "))
    assert line.split("#")[1].strip() == "file sustain"


def test_run_print_config_shows_flags_and_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "memwarden.toml").write_text('[supervisor]\ngrace = "3s"\n')
    marker = tmp_path / "started"
    result = _memwarden(tmp_path, "run", "--print-config", "--grace", "4s", "--no-cgroup", "--",
                        "sh", "-c", f"touch {marker}", MEMWARDEN_SUPERVISOR_MAX_RESTARTS="7")
    assert result.returncode == 0, result.stderr
    lines = {x.split("=")[0].strip(): x for x in result.stdout.splitlines() if " = " in x}
    assert lines["grace"].endswith("# flag --grace") and "= 4s" in lines["grace"]
    assert lines["cgroup"].endswith("# flag --cgroup") and "= false" in lines["cgroup"]
    assert lines["max_restarts"].endswith("# env MEMWARDEN_SUPERVISOR_MAX_RESTARTS")
    assert not marker.exists()


def test_a_misspelt_variable_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    result = _memwarden(tmp_path, "config", MEMWARDEN_LIMT="1G")
    assert result.returncode == 0, result.stderr
    assert ("# not a setting, ignored: MEMWARDEN_LIMT (did you mean MEMWARDEN_LIMIT?)"
            in result.stdout.splitlines())
    document = json.loads(_memwarden(tmp_path, "config", "--json", MEMWARDEN_LIMT="1G").stdout)
    assert document["unknown_variables"] == ["MEMWARDEN_LIMT (did you mean MEMWARDEN_LIMIT?)"]
