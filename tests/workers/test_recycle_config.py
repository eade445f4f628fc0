"""Worker recycling config: env and arguments; bad values name the key and the value."""

from __future__ import annotations

import pytest

from memwarden.errors import ConfigError
from memwarden.units import Threshold
from memwarden.workers.recycle import WorkerMeter, load_recycle_config


def test_off_unless_configured() -> None:
    assert load_recycle_config(environ={}) is None
    assert load_recycle_config(environ={"MEMWARDEN_WORKER_MAX_MEMORY": "off"}) is None


def test_env_and_arguments() -> None:
    config = load_recycle_config(environ={"MEMWARDEN_WORKER_MAX_MEMORY": "300M",
                                          "MEMWARDEN_WORKER_CHECK_EVERY": "10",
                                          "MEMWARDEN_WORKER_CHECK_INTERVAL": "250ms"})
    assert config is not None
    assert config.max_memory == Threshold(size_bytes=300 * 1024**2)
    assert config.check_every == 10 and config.interval_s == 0.25
    override = load_recycle_config("40%", environ={"MEMWARDEN_WORKER_MAX_MEMORY": "300M"})
    assert override is not None and override.max_memory == Threshold(fraction=0.4)


@pytest.mark.parametrize(
    ("environ", "key", "value"),
    [
        ({"MEMWARDEN_WORKER_MAX_MEMORY": "3OOM"}, "worker_max_memory", "3OOM"),
        ({"MEMWARDEN_WORKER_MAX_MEMORY": "140%"}, "worker_max_memory", "140%"),
        ({"MEMWARDEN_WORKER_MAX_MEMORY": "1G", "MEMWARDEN_WORKER_CHECK_EVERY": "0"},
         "worker_check_every", "0"),
        ({"MEMWARDEN_WORKER_MAX_MEMORY": "1G", "MEMWARDEN_WORKER_CHECK_INTERVAL": "0s"},
         "worker_check_interval", "0s"),
    ],
)
def test_bad_values(environ: dict[str, str], key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_recycle_config(environ=environ)
    assert info.value.key == "MEMWARDEN_" + key.upper() and info.value.value == value


def test_meter_trips_once_and_honours_check_every() -> None:
    config = load_recycle_config("1M", check_every=2, environ={})
    assert config is not None
    meter = WorkerMeter(config, kind="test")
    assert meter.check() is None  # 1st request: not measured (every 2nd)
    rss_bytes = meter.check()  # this test process is certainly above 1 MiB
    assert rss_bytes is not None and rss_bytes > 1024**2
    assert meter.check() is None and meter.check() is None  # tripped once, not again


def test_percentage_resolves_against_the_effective_limit() -> None:
    config = load_recycle_config("50%", environ={})
    assert config is not None
    meter = WorkerMeter(config, kind="test")
    assert meter.max_bytes is not None and meter.max_bytes > 0
