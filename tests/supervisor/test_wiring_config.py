"""Config keys for the supervisor's wiring: cgroup, socket, health_*, watchdog, leak_window."""

from __future__ import annotations

import pytest

from memwarden.errors import ConfigError
from memwarden.supervisor.config import build_program, load_supervisor_config
from memwarden.supervisor.owned import hard_limit_bytes

MiB = 1024 * 1024


def test_toml_keys_build_the_program() -> None:
    program = build_program({
        "command": "python app.py", "cgroup": False,
        "socket": ["tcp://127.0.0.1:8000", "unix:/run/app.sock"],
        "health_url": "http://127.0.0.1:8000/health", "health_interval": "2s",
        "health_timeout": "500ms", "health_failures": 5, "health_start_period": "30s",
        "watchdog": "10s", "leak_window": "off",
    })
    assert program.cgroup is False
    assert program.sockets == ("tcp://127.0.0.1:8000", "unix:/run/app.sock")
    assert (program.health_url, program.health_interval_s, program.health_timeout_s,
            program.health_failures, program.health_start_period_s) == (
        "http://127.0.0.1:8000/health", 2.0, 0.5, 5, 30.0)
    assert program.watchdog_s == 10.0 and program.leak_window_s is None


def test_defaults() -> None:
    program = build_program({"command": "python app.py"})
    assert program.cgroup is True and program.sockets == () and program.health_url is None
    assert program.watchdog_s is None and program.leak_window_s == 60.0


def test_cli_options_win_and_one_socket_string_is_accepted() -> None:
    config = load_supervisor_config({"cgroup": False, "socket": None}, ("python", "a.py"),
                                    table={"supervisor": {"socket": "tcp://127.0.0.1:9"}})
    assert config.programs[0].cgroup is False
    assert config.programs[0].sockets == ("tcp://127.0.0.1:9",)


@pytest.mark.parametrize(("key", "value"), [
    ("socket", "udp://h:1"), ("socket", 8000), ("health_url", "127.0.0.1:8000/health"),
    ("health_failures", 0), ("health_interval", "0s"), ("cgroup", "maybe"),
    ("watchdog", "soon"),
])
def test_bad_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        build_program({"command": "python app.py", key: value})
    assert caught.value.key == key


def test_hard_limit_is_above_the_restart_threshold_and_never_below_the_limit() -> None:
    assert hard_limit_bytes(300 * MiB, 285 * MiB) == 301 * MiB  # 285 + 16
    assert hard_limit_bytes(300 * MiB, 100 * MiB) == 300 * MiB  # the limit itself
    assert hard_limit_bytes(4096 * MiB, 4000 * MiB) == 4200 * MiB  # 5 % of the threshold
