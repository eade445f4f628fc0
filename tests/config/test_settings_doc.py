"""The settings reference is generated from the registry, and the committed page is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memwarden.settings.doc import render
from memwarden.settings.registry import all_settings
from tests.helpers import child_env

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "settings.md"


def test_committed_page_equals_the_generated_one() -> None:
    generated = subprocess.run([sys.executable, "-m", "memwarden.settings.doc"], env=child_env(),
                               capture_output=True, text=True, check=True).stdout
    assert generated == render()
    assert PAGE.read_text() == generated, (
        "regenerate: python -m memwarden.settings.doc > docs/reference/settings.md")


def test_every_setting_has_a_row_with_its_names() -> None:
    page = render()
    for setting in all_settings():
        assert f"| `{setting.key}` |" in page
        for name in filter(None, (setting.env, setting.flag, *setting.aliases)):
            assert f"`{name}`" in page
