"""The middleware's typed keyword options name exactly the `[web]` settings (and their older
spellings), so a type checker catches a misspelt option and the registry stays the one home."""

from __future__ import annotations

from memwarden.settings.registry import section
from memwarden.web.config import OLD_KEYS, WebOptions, load_web_config


def test_options_are_the_web_settings_and_their_old_spellings() -> None:
    assert set(WebOptions.__annotations__) == set(section("web")) | set(OLD_KEYS)
    assert WebOptions.__total__ is False


def test_every_typed_option_is_accepted_as_given() -> None:
    config = load_web_config({"max_concurrency": "3", "max_body": "1M", "retry_after_s": 7,
                              "exempt_paths": ["/x"], "shed": "off"}, environ={})
    assert (config.max_concurrency, config.max_body_bytes, config.retry_after_s) == (3, 2**20, 7)
    assert config.exempt_paths == ("/x",) and config.shed is False
