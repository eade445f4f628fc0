"""memwarden.start(): the config file is read once and reaches the leak watch and alerts; a bad
value anywhere raises one ConfigError before anything starts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import memwarden
from memwarden import guardian
from memwarden.errors import ConfigError


@pytest.fixture(autouse=True)
def _stopped() -> Iterator[None]:
    yield
    memwarden.stop()


def test_config_path_reaches_the_leak_watch_and_alerts(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_text('limit = "3G"\n[leak]\nenabled = false\n[alerts]\n'
                    'url = "http://127.0.0.1:9/hook"\nservice = "from-file"\n')
    running = memwarden.start(config_path=path, environ={})
    assert running.config.limit_bytes == 3 * 1024**3
    assert running.leak_watch is None  # [leak] enabled = false was read
    assert running.alerts is not None  # [alerts] url was read
    assert running.alerts.sender.config.service == "from-file"
    assert running.settings is not None and running.settings.file.path == path


@pytest.mark.parametrize(("toml", "key", "value"), [
    ("[leak]\ntrace_window = -1\n", "leak.trace_window", -1),
    ('[alerts]\nurl = "hooks.example"\n', "alerts.url", "hooks.example"),
    ("interval = nan\n", "interval", "nan"),
])
def test_a_bad_value_in_any_table_stops_start(tmp_path: Path, toml: str, key: str,
                                              value: object) -> None:
    path = tmp_path / "memwarden.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        memwarden.start(config_path=path, environ={})
    assert info.value.key == key and str(info.value.value) == str(value)
    assert guardian.current() is None  # nothing started


@pytest.mark.parametrize(("arguments", "key"), [
    ({"limit": "512"}, "limit"),
    ({"limit": 0}, "limit"),
    ({"interval": 1e-9}, "interval"),
    ({"interval": float("nan")}, "interval"),
    ({"limit": "512M", "restart": "600M"}, "restart"),
    ({"metric": "pss"}, "metric"),
])
def test_bad_arguments_raise_one_config_error(arguments: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        memwarden.start(environ={}, config_path=Path("/dev/null"), **arguments)
    assert info.value.key == key
    assert guardian.current() is None


def test_the_web_layer_hands_its_settings_to_the_guardian(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from memwarden.web.core import Warden

    (tmp_path / "memwarden.toml").write_text('limit = "2G"\n[leak]\nenabled = false\n'
                                             '[web]\nmax_concurrency = 8\n')
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("MEMWARDEN_")]:
        monkeypatch.delenv(name)
    warden = Warden()
    assert warden.config.max_concurrency == 8
    warden.start_guardian()
    running = guardian.current()
    assert running is not None and running.settings is warden.settings  # read once
    assert running.config.limit_bytes == 2 * 1024**3 and running.leak_watch is None
