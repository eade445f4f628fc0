"""One environment naming scheme, older names still read, and one precedence rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from memwarden.errors import ConfigError
from memwarden.leak.snapshot import default_directory
from memwarden.settings import load
from memwarden.settings.registry import all_settings
from memwarden.supervisor.control_dir import control_location


def test_every_variable_follows_the_scheme_and_is_unique() -> None:
    names = [s.env for s in all_settings() if s.env]
    assert len(names) == len(set(names))
    for setting in all_settings():
        if setting.env is None:
            continue
        section = {"guard": "", "program": "SUPERVISOR_"}.get(
            setting.section, setting.section.upper() + "_")
        assert setting.env == f"MEMWARDEN_{section}{setting.key.upper()}"
    aliases = [a for s in all_settings() for a in s.aliases]
    assert not set(aliases) & set(names) and len(aliases) == len(set(aliases))


@pytest.mark.parametrize("name", ["MEMWARDEN_SUPERVISOR_CONTROL_SOCKET",
                                  "MEMWARDEN_CONTROL_SOCKET"])
def test_control_socket_variable_reaches_run_and_its_clients(name: str) -> None:
    assert control_location(None, {name: "/srv/s.sock"}) == (Path("/srv/s.sock"), False)
    assert control_location(None, {name: " "})[1] is True  # empty: unset, the private default


@pytest.mark.parametrize("name", ["MEMWARDEN_LEAK_SNAPSHOT_DIR", "MEMWARDEN_SNAPSHOT_DIR"])
def test_snapshot_directory_variable(name: str, tmp_path: Path) -> None:
    assert default_directory({name: str(tmp_path)}) == tmp_path
    assert load(environ={name: str(tmp_path)}).leak().snapshot_dir == tmp_path


def test_new_name_wins_over_the_old_one_and_argument_over_both(tmp_path: Path) -> None:
    toml = tmp_path / "memwarden.toml"
    toml.write_text('[alerts]\nurl = "http://file/"\ncooldown = "1m"\n')
    loaded = load(toml, {"MEMWARDEN_ALERTS_URL": "http://new/",
                         "MEMWARDEN_WEBHOOK_URL": "http://old/"})
    assert loaded.alerts().url == "http://new/"
    assert loaded.alerts().cooldown_s == 60.0  # the file, under no variable
    assert loaded.alerts({"url": "http://arg/"}).url == "http://arg/"
    assert load(toml, {"MEMWARDEN_WEBHOOK_URL": "http://old/"}).alerts().url == "http://old/"


def test_an_empty_variable_is_unset_and_zero_is_not_off() -> None:
    assert load(environ={"MEMWARDEN_LIMIT": ""}).guard().limit_bytes is None
    assert load(environ={"MEMWARDEN_LIMIT": "off"}).guard().limit_bytes is None
    with pytest.raises(ConfigError, match="MEMWARDEN_LIMIT='0'"):
        load(environ={"MEMWARDEN_LIMIT": "0"}).guard()


def test_worker_table_in_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "memwarden.toml"
    toml.write_text('[worker]\nmax_memory = "300M"\ncheck_every = 4\n')
    config = load(toml, {}).worker()
    assert config is not None and config.max_memory.size_bytes == 300 * 2**20
    assert config.check_every == 4
