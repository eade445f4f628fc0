"""docs/reference/cli.md is generated from the click commands and is current."""

from __future__ import annotations

from pathlib import Path

from memwarden.cli.doc import reference_markdown

PAGE = Path(__file__).resolve().parent.parent.parent / "docs" / "reference" / "cli.md"


def test_the_committed_cli_reference_is_current() -> None:
    assert PAGE.read_text() == reference_markdown(), (
        "the CLI changed: run `python -m memwarden.cli.doc > docs/reference/cli.md`")


def test_every_command_and_option_is_in_it() -> None:
    from memwarden.cli import COMMANDS

    text = reference_markdown()
    for name in COMMANDS:
        assert f"## `memwarden {name}`" in text
    assert "`--control-socket PATH`" in text and "`--json`" in text
    assert " TEXT`" not in text and " T`" not in text  # every value has a named placeholder
