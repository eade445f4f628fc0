"""Every environment variable the README, the docs, the deploy files and the examples tell a
user to set is a current name from the settings registry; older names are listed only in the
generated settings reference, as aliases."""

from __future__ import annotations

import re
from pathlib import Path

from memwarden.settings.registry import CONFIG_ENV, all_settings

ROOT = Path(__file__).resolve().parents[2]
# A name, not a prefix written as MEMWARDEN_WEB_* or MEMWARDEN_<TABLE>_<KEY>.
NAME = re.compile(r"\bMEMWARDEN_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*<])")
# Set by memwarden for the programs it starts, not by users; the test suite's own tag.
NOT_SETTINGS = {CONFIG_ENV, "MEMWARDEN_SUPERVISED", "MEMWARDEN_LEAK_ANSWER",
                "MEMWARDEN_TEST_TAG"}
GENERATED = ROOT / "docs" / "reference" / "settings.md"


def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for folder in ("deploy", "examples"):
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file()
                        and p.suffix in {".py", ".md", ".yaml", ".yml", ".json", ".toml", ""})
    return [p for p in files if p != GENERATED]


def test_every_environment_name_shown_to_users_is_current() -> None:
    current = {s.env for s in all_settings() if s.env} | NOT_SETTINGS
    stale = sorted(f"{path.relative_to(ROOT)}:{line}: {name}"
                   for path in _user_facing_files()
                   for line, text in enumerate(path.read_text(errors="replace").splitlines(), 1)
                   for name in NAME.findall(text) if name not in current)
    assert stale == []


def test_the_check_sees_an_old_name() -> None:
    assert NAME.findall("set MEMWARDEN_WEBHOOK_URL or MEMWARDEN_WEB_* or "
                        "MEMWARDEN_<TABLE>_<KEY>") == ["MEMWARDEN_WEBHOOK_URL"]
