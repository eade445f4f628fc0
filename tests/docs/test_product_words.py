"""The docs, the code and the tests speak of the product, not of how it was made: no issue
numbers, no words about work in progress, no paths of a developer's machine."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# Spelled in pieces so this file does not match itself.
FORBIDDEN = [
    ("an issue number", r"\bissues?\s+#?\d+"),
    ("a session word", r"\bthis\s+" + "session" + r"\b|\bsession's\s+trims"),
    ("a work-in-progress phrase", r"\bnot\s+there\s+" + "yet" + r"\b"),
    ("a work-in-progress phrase", r"\bnot\s+on\s+this\s+" + "branch"),
    ("a work-in-progress phrase", r"\bonce\s+(?:\S+\s+){0,3}" + "merged" + r"\b"),
    ("a machine path", "/" + "work/"),
    ("a machine path", "/" + "root/"),
    ("a machine path", "/tmp/" + "home"),
]
PATTERNS = [(what, re.compile(pattern, re.IGNORECASE)) for what, pattern in FORBIDDEN]


def checked_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "mkdocs.yml"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    for folder in ("src", "tests", "examples"):
        files += sorted((ROOT / folder).rglob("*.py"))
    own = Path(__file__).resolve()  # its examples of what is forbidden
    return [path for path in files if path.is_file() and path.resolve() != own]


def offences(text: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for what, pattern in PATTERNS:
            match = pattern.search(line)
            if match:
                found.append((number, what, match.group(0)))
    return found


def test_the_patterns_catch_what_they_name() -> None:
    # Put together from pieces, as the paths are: this file must not say them itself.
    bad = ["see " + "issue 4", "Issues " + "#12 and 3", "before this " + "session's trims",
           "the module is not " + "there yet", "skip: not on this " + "branch",
           "once the supervisor is " + "merged",
           "/" + "work/venv/bin/python", "/" + "root/x", "cd /tmp/" + "home-me"]
    for line in bad:
        assert offences(line), line
    good = ["5 sessions", "bot_session", "issues the request", "the tissue 4", "/tmp/prom",
            "once published", "merged into its environment"]
    for line in good:
        assert not offences(line), line


def test_no_words_about_how_the_project_was_made() -> None:
    report = []
    for path in checked_files():
        for number, what, text in offences(path.read_text(errors="replace")):
            report.append(f"{path.relative_to(ROOT)}:{number}: {what}: {text!r}")
    assert not report, "\n".join(report)
