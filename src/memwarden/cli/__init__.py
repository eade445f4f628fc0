"""The `memwarden` command: a thin click layer; each subcommand loads on first use."""

from __future__ import annotations

import importlib
from typing import Any

import click

from memwarden import __version__
from memwarden.exitcodes import EXIT_INTERRUPTED, EXIT_USAGE

# name -> "module:attribute" of a click.Command; loaded only when invoked or listed in --help.
COMMANDS: dict[str, str] = {
    "check": "memwarden.cli.check:check",
    "config": "memwarden.cli.config:config",
    "monitor": "memwarden.cli.monitor:monitor",
    "run": "memwarden.supervisor.cli:run",
    "status": "memwarden.supervisor.cli:status",
    "restart": "memwarden.supervisor.cli:restart",
    "stop": "memwarden.supervisor.cli:stop",
    "snapshot": "memwarden.leak.cli:snapshot",
    "diff": "memwarden.leak.cli:diff",
    "report": "memwarden.report.cli:report",
    "demo": "memwarden.demo.cli:demo",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        command: Any = getattr(module, attribute)
        return command if isinstance(command, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="memwarden")
def cli() -> None:
    """memwarden: watch a service's memory, name what leaks, act before the OOM killer."""


def main() -> None:
    from memwarden.cli.common import click_error_message, fail

    try:
        code = cli.main(prog_name="memwarden", standalone_mode=False)
    except click.ClickException as err:
        fail(click_error_message(err), EXIT_USAGE if isinstance(err, click.UsageError)
             else err.exit_code)
    except click.Abort:
        raise SystemExit(EXIT_INTERRUPTED) from None
    raise SystemExit(code if isinstance(code, int) else 0)
