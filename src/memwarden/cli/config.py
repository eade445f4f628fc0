"""`memwarden config [--json] [--config FILE]`: every effective setting and where it came from."""

from __future__ import annotations

import click

from memwarden.cli.common import usage_errors


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--config", "config_path", metavar="FILE",
              help="memwarden.toml or pyproject.toml [default: $MEMWARDEN_CONFIG, else found "
              "from the current directory up]")
@usage_errors
def config(as_json: bool, config_path: str | None) -> None:
    """Show the effective settings with the source of each (default, file, env); every value
    is checked, so a bad one exits 2 here as it would at start-up. MEMWARDEN_* variables
    that no setting reads are listed, with the nearest name."""
    from memwarden.settings import load
    from memwarden.settings.show import (
        effective_rows,
        render_json,
        render_text,
        unknown_variables,
    )

    loaded = load(config_path, flag="--config")
    rows = effective_rows(loaded)
    loaded.check()  # cross-setting rules too (the ladder, thresholds within the limit)
    path = str(loaded.file.path) if loaded.file.path is not None else None
    unknown = unknown_variables(loaded.environ)
    click.echo(render_json(rows, path, unknown) if as_json else render_text(rows, path, unknown))
