"""The README stays an introduction: short, its links and picture resolve, and its quick start
is the install and test commands CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text()


def test_the_readme_is_at_most_150_lines() -> None:
    assert len(README.splitlines()) <= 150


def test_every_relative_link_and_image_in_the_readme_resolves() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    relative = [t for t in targets if "://" not in t]
    assert len(relative) >= 20
    missing = [t for t in relative if not (ROOT / t).exists()]
    assert not missing, missing


def test_the_quick_start_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]'" in README and "pip install --quiet -e '.[test]'" in ci
    assert "python3 -m venv .venv && . .venv/bin/activate" in README
    assert "\nmemwarden demo " in README
    assert "\npython -m pytest " in README and "\npython -m pytest -q" in ci
