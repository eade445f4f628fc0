"""`memwarden run | status | restart | stop`: a thin click layer over the supervisor."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from memwarden.cli.common import fail
from memwarden.errors import ConfigError
from memwarden.exitcodes import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from memwarden.settings.clickopts import given, setting_options
from memwarden.settings.registry import find

CONTROL_HELP = find("supervisor.control_socket").help


def _control_location(option: str | None) -> tuple[Path, bool]:
    from memwarden.supervisor.control_dir import control_location

    return control_location(option)


@click.command(context_settings={"ignore_unknown_options": False})
@setting_options("program")
@setting_options("supervisor")
@click.option("--config", "config_path", metavar="FILE",
              help="memwarden.toml or pyproject.toml [default: $MEMWARDEN_CONFIG, else found "
              "from the current directory up]")
@click.option("--print-config", is_flag=True,
              help="print the effective settings of the programs with their sources, then exit")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(command: tuple[str, ...], config_path: str | None, print_config: bool,
        **options: Any) -> None:
    """Supervise CMD (after --) or the [[program]] tables of the config file."""
    from memwarden.supervisor import outputs
    from memwarden.supervisor.config import load_supervisor_config
    from memwarden.supervisor.main import exec_lean, launch, load_table

    options = given(options)
    try:
        table = load_table(config_path)
        # Every value is checked here, before anything starts: exit 2 on the first bad one.
        load_supervisor_config(options, tuple(command), table=table)
        outputs.check(table)  # the alerts the supervisor would send
        if print_config:
            from memwarden.settings.show import print_run_config

            print_run_config(options, tuple(command), table)
            return
    except ConfigError as err:
        fail(str(err))
    exec_lean(options, tuple(command), table)
    sys.exit(launch(options, tuple(command), table))


def _ask(control_socket: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    from memwarden.supervisor.control import ControlError, UnsafeControlPath, request

    path, private_dir = _control_location(control_socket)
    try:
        return request(path, payload, private_dir=private_dir)
    except UnsafeControlPath as err:
        click.echo(f"memwarden: error: {err}", err=True)
        sys.exit(EXIT_USAGE)
    except ControlError as err:
        from memwarden.cli.common import fail

        fail(str(err), EXIT_FAILURE)
        raise


def _age(seconds: float | None) -> str:
    from memwarden.units import format_duration

    return format_duration(seconds)


def format_status(reply: dict[str, Any]) -> str:
    from memwarden.units import format_bytes

    headers = ("NAME", "STATE", "PID", "UPTIME", "RESTARTS", "TIER", "TREE RSS", "WORKING SET",
               "LIMIT", "LAST RESTART")
    rows = []
    for p in reply.get("programs", []):
        recent = p.get("recent_restarts") or []
        last = f"{recent[-1]['reason']}: {recent[-1]['detail']}" if recent else "-"
        rows.append((p["name"], p["state"], str(p["pid"] or "-"), _age(p["uptime_s"]),
                     f"{p['restarts']} ({p['restarts_in_window']}/{p['max_restarts']})",
                     p["tier"], format_bytes(p["tree_rss_bytes"]),
                     format_bytes(p["working_set_bytes"]), format_bytes(p["limit_bytes"]),
                     last))
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in (headers, *rows)]
    head = f"supervisor pid {reply.get('pid')}, up {_age(reply.get('uptime_s'))}"
    budget = reply.get("budget")
    if budget:
        head += (f"; total {format_bytes(budget['total_rss_bytes'])} of budget "
                 f"{format_bytes(budget['limit_bytes'])} ({budget['tier']})")
    return "\n".join([head, *lines])


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the status as JSON")
@click.option("--control-socket", metavar="PATH", help=CONTROL_HELP)
def status(as_json: bool, control_socket: str | None) -> None:
    """Each program's state, pid, uptime, restarts with reasons, memory and tier."""
    reply = _ask(control_socket, {"cmd": "status"})
    click.echo(json.dumps(reply, indent=2) if as_json else format_status(reply))


def _act(cmd: str, name: str | None, control_socket: str | None) -> None:
    reply = _ask(control_socket, {"cmd": cmd, "program": name})
    if not reply.get("ok"):
        from memwarden.cli.common import fail

        fail(f"{cmd}: {reply.get('error')}", EXIT_USAGE)
    target = name if name is not None else "every program"
    click.echo(f"memwarden {cmd}: {target}: requested")
    sys.exit(EXIT_OK)


@click.command()
@click.argument("name")
@click.option("--control-socket", metavar="PATH", help=CONTROL_HELP)
def restart(name: str, control_socket: str | None) -> None:
    """Restart program NAME gracefully (counts toward --max-restarts; revives an errored one)."""
    _act("restart", name, control_socket)


@click.command()
@click.argument("name", required=False)
@click.option("--control-socket", metavar="PATH", help=CONTROL_HELP)
def stop(name: str | None, control_socket: str | None) -> None:
    """Stop program NAME gracefully; without NAME, stop every program and the supervisor."""
    _act("stop", name, control_socket)
