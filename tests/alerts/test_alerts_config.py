"""`[alerts]` TOML and MEMWARDEN_WEBHOOK_* env; bad input names the key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from memwarden.alerts.config import load_alerts_config
from memwarden.alerts.http import _post_urllib, parse_retry_after
from memwarden.errors import ConfigError
from tests.alerts.alerts_receiver import Receiver


def test_defaults_are_disabled() -> None:
    config = load_alerts_config(environ={"MEMWARDEN_CONFIG": "/dev/null"})
    assert not config.enabled and config.format == "slack" and config.cooldown_s == 300.0


def test_env_overrides_toml(tmp_path: Path) -> None:
    toml = tmp_path / "memwarden.toml"
    toml.write_text('limit = "512M"\n[alerts]\nurl = "http://hooks.example/a"\nformat = "json"\n'
                    'cooldown = "10m"\nkinds = ["tier", "oom_kill"]\nqueue_size = 7\n')
    environ = {"MEMWARDEN_WEBHOOK_COOLDOWN": "30s", "MEMWARDEN_WEBHOOK_TIMEOUT": "2s",
               "MEMWARDEN_ALERTMANAGER_URL": "http://am:9093", "MEMWARDEN_ALERT_SERVICE": "bot"}
    config = load_alerts_config(environ=environ, config_path=toml)
    assert config.url == "http://hooks.example/a" and config.format == "json"
    assert config.cooldown_s == 30.0 and config.timeout_s == 2.0
    assert config.alertmanager_url == "http://am:9093" and config.service == "bot"
    assert config.kinds == frozenset({"tier", "oom_kill"}) and config.queue_size == 7


@pytest.mark.parametrize(
    ("environ", "key", "value"),
    [
        ({"MEMWARDEN_WEBHOOK_FORMAT": "teams"}, "alerts.format", "teams"),
        ({"MEMWARDEN_WEBHOOK_URL": "hooks.example"}, "alerts.url", "hooks.example"),
        ({"MEMWARDEN_WEBHOOK_TIMEOUT": "0"}, "alerts.timeout", "0"),
        ({"MEMWARDEN_WEBHOOK_COOLDOWN": "soon"}, "alerts.cooldown", "soon"),
        ({"MEMWARDEN_ALERT_QUEUE_SIZE": "0"}, "alerts.queue_size", "0"),
        ({"MEMWARDEN_ALERT_OVERFLOW": "block"}, "alerts.overflow", "block"),
        ({"MEMWARDEN_ALERT_KINDS": "tier,page"}, "alerts.kinds", "tier,page"),
        ({"MEMWARDEN_ALERT_QUEUE_SIZE": "²"}, "alerts.queue_size", "²"),
        ({"MEMWARDEN_ALERT_QUEUE_SIZE": "9" * 400}, "alerts.queue_size", "9" * 400),
        ({"MEMWARDEN_ALERT_RETRIES": "-1"}, "alerts.retries", "-1"),
        ({"MEMWARDEN_ALERT_RETRIES": "21"}, "alerts.retries", "21"),
        ({"MEMWARDEN_ALERT_RETRIES": "١٢"}, "alerts.retries", "١٢"),
        ({"MEMWARDEN_ALERT_RETRY_BACKOFF": "nan"}, "alerts.retry_backoff", "nan"),
        ({"MEMWARDEN_ALERT_RETRY_BACKOFF": "0"}, "alerts.retry_backoff", "0"),
        ({"MEMWARDEN_ALERT_RETRY_BACKOFF": "2m"}, "alerts.retry_backoff", "2m"),
    ],
)
def test_bad_values_name_key_and_value(environ: dict[str, str], key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_alerts_config(environ={"MEMWARDEN_CONFIG": "/dev/null", **environ})
    # Named as the user spelled it: the (older) variable name that was set.
    assert info.value.key == next(iter(environ)) and info.value.value == value
    assert key.startswith("alerts.") and repr(value) in str(info.value)


def test_retry_settings_from_toml_and_env(tmp_path: Path) -> None:
    toml = tmp_path / "memwarden.toml"
    toml.write_text('[alerts]\nretries = 3\nretry_backoff = "250ms"\n')
    config = load_alerts_config(environ={}, config_path=toml)
    assert config.retries == 3 and config.retry_backoff_s == 0.25
    config = load_alerts_config(environ={"MEMWARDEN_ALERT_RETRIES": "0"}, config_path=toml)
    assert config.retries == 0
    toml.write_text("[alerts]\nretries = true\n")
    with pytest.raises(ConfigError, match=r"alerts\.retries=True"):
        load_alerts_config(environ={}, config_path=toml)


def test_unknown_toml_key(tmp_path: Path) -> None:
    toml = tmp_path / "memwarden.toml"
    toml.write_text('[alerts]\nurll = "http://x"\n')
    with pytest.raises(ConfigError, match=r"alerts\.urll"):
        load_alerts_config(environ={}, config_path=toml)


def test_retry_after_forms() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_s=1445412470.0) == 10.0
    assert parse_retry_after("whenever") is None and parse_retry_after(None) is None


def test_urllib_fallback_reads_429(receiver: Receiver) -> None:
    receiver.mode = "429"
    receiver.retry_after = "7"
    result = _post_urllib(receiver.url, b"{}", {"Content-Type": "application/json"}, 10.0)
    assert result.status == 429 and result.retry_after_s == 7.0 and not result.ok
    result = _post_urllib(receiver.url, b"{}", {"Content-Type": "application/json"}, 10.0)
    assert result.ok
