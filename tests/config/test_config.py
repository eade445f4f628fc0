from __future__ import annotations

from pathlib import Path

import pytest

from memwarden.config import GuardConfig, load_guard_config
from memwarden.errors import ConfigError
from memwarden.policy import Tier
from memwarden.units import Threshold

MIB = 1024**2


def test_defaults_without_any_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_guard_config(environ={})
    assert config == GuardConfig()
    assert set(config.policy().ladder) == {Tier.WARN, Tier.CRITICAL, Tier.RESTART}


def test_precedence_arguments_over_env_over_toml(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.memwarden]\nlimit = "300M"\nwarn = "60%"\ninterval = "5s"\n'
    )
    monkeypatch.chdir(tmp_path)
    config = load_guard_config(
        {"interval": "100ms"}, environ={"MEMWARDEN_WARN": "65%", "MEMWARDEN_LIMIT": "400M"}
    )
    assert config.limit_bytes == 400 * MIB
    assert config.warn == Threshold(fraction=0.65)
    assert config.interval_s == pytest.approx(0.1)


def test_memwarden_toml_wins_over_pyproject(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.memwarden]\nlimit = "300M"\n')
    (tmp_path / "memwarden.toml").write_text('limit = "200M"\nrestart = "off"\n')
    monkeypatch.chdir(tmp_path)
    config = load_guard_config(environ={})
    assert config.limit_bytes == 200 * MIB
    assert config.restart is None
    assert Tier.RESTART not in config.policy().ladder


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "memwarden.toml"
    path.write_text('limt = "300M"\n')
    with pytest.raises(ConfigError) as err:
        load_guard_config(environ={}, config_path=path)
    assert err.value.key == "limt" and "unknown key; did you mean limit?" in str(err.value)


def test_sub_tables_belong_to_other_components(tmp_path: Path) -> None:
    path = tmp_path / "memwarden.toml"
    path.write_text('limit = "1G"\n[web]\nprefix = "/ops"\n[[program]]\nname = "x"\n')
    assert load_guard_config(environ={}, config_path=path).limit_bytes == 1024 * MIB


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"MEMWARDEN_LIMIT": "lots"}, "limit"),
        ({"MEMWARDEN_CRITICAL": "120%"}, "critical"),
        ({"MEMWARDEN_INTERVAL": "0s"}, "interval"),
        ({"MEMWARDEN_METRIC": "pss"}, "metric"),
        ({"MEMWARDEN_HYSTERESIS": "2"}, "hysteresis"),
        ({"MEMWARDEN_WARN": "90%", "MEMWARDEN_CRITICAL": "80%"}, "critical"),
    ],
)
def test_bad_values_name_key_and_value(env: dict[str, str], key: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_guard_config(environ=env)
    assert err.value.key == "MEMWARDEN_" + key.upper()  # named as the user spelled it


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "memwarden.toml"
    path.write_text("limit = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_guard_config(environ={}, config_path=path)


def test_config_path_from_env(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_text('sustain = "2s"\n')
    assert load_guard_config(environ={"MEMWARDEN_CONFIG": str(path)}).sustain_s == 2.0


def test_critical_timeout_from_env_and_toml(tmp_path: Path) -> None:
    (tmp_path / "memwarden.toml").write_text('critical_timeout = "5m"\n')
    toml = tmp_path / "memwarden.toml"
    config = load_guard_config(environ={}, config_path=toml)
    assert config.critical_timeout_s == 300.0 and config.policy().critical_timeout_s == 300.0
    config = load_guard_config(environ={"MEMWARDEN_CRITICAL_TIMEOUT": "off"}, config_path=toml)
    assert config.critical_timeout_s is None
    with pytest.raises(ConfigError, match="MEMWARDEN_CRITICAL_TIMEOUT='soon'"):
        load_guard_config(environ={"MEMWARDEN_CRITICAL_TIMEOUT": "soon"}, config_path=toml)
