"""`memwarden run | status | restart | stop`: a thin click layer over the supervisor."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from memwarden.errors import ConfigError
from memwarden.exitcodes import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

CONTROL_HELP = "control socket path [default: $XDG_RUNTIME_DIR/memwarden/control.sock, " \
               "/run/memwarden/control.sock as root]"


def _usage_error(command: str, err: Exception) -> None:
    from memwarden.cli.common import fail

    fail(str(err), EXIT_USAGE)


def _control_location(option: str | None) -> tuple[Path, bool]:
    from memwarden.supervisor.control_dir import control_location

    return control_location(option)


@click.command(context_settings={"ignore_unknown_options": False})
@click.option("--limit", metavar="SIZE",
              help="memory budget per program, e.g. 512M [default: the cgroup "
              "limit, else the machine's memory]")
@click.option("--warn", metavar="THRESHOLD",
              help="warn tier threshold: a percentage of the limit or a size "
              "[default: 70%]")
@click.option("--critical", metavar="THRESHOLD",
              help="critical tier threshold [default: 85%]")
@click.option("--restart", metavar="THRESHOLD",
              help="restart tier threshold: graceful restart [default: 95%]")
@click.option("--interval", metavar="DURATION",
              help="sampling interval [default: 100ms]")
@click.option("--critical-timeout", metavar="DURATION",
              help="restart (reason memory) a program that stayed at critical this long "
              "[default: off]")
@click.option("--grace", metavar="DURATION",
              help="time between SIGTERM and SIGKILL [default: 10s]")
@click.option("--autorestart", type=click.Choice(["always", "on-failure", "never"]),
              help="when a program ends by itself: restart it always, only when it failed "
              "(nonzero status or a signal), or never; once it ends for good, "
              "`memwarden run` exits with its status [default: always]")
@click.option("--max-restarts", metavar="N",
              help="restarts allowed within --restart-window, every kind "
              "counted [default: 5]")
@click.option("--restart-window", metavar="DURATION",
              help="window for --max-restarts [default: 1h]")
@click.option("--max-age", metavar="DURATION",
              help="restart a program after this long, less up to 10% jitter "
              "[default: off]")
@click.option("--restart-at", metavar="CRON",
              help="cron expression (5 fields, local time) for scheduled "
              "restarts, e.g. '0 4 * * *' [default: off]")
@click.option("--no-cgroup", "no_cgroup", is_flag=True, default=False,
              help="do not put programs in their own memory cgroup (detection: poll only)")
@click.option("--psi", metavar="SPEC", help="PSI trigger that wakes the loop to sample "
              "every program: 'some|full STALL WINDOW', or off [default: some 100ms 2s]")
@click.option("--socket", "socket", multiple=True, metavar="ADDR",
              help="tcp://HOST:PORT or unix:PATH to bind once and hand to every generation "
              "(LISTEN_FDS, fd 3..); repeatable")
@click.option("--health-url", metavar="URL", help="liveness probe: restart (reason "
              "watchdog) after --health-failures failed GETs [default: off]")
@click.option("--health-interval", metavar="DURATION", help="probe interval [default: 10s]")
@click.option("--health-timeout", metavar="DURATION", help="probe timeout [default: 1s]")
@click.option("--health-failures", metavar="N",
              help="consecutive failures that restart [default: 3]")
@click.option("--health-start-period", metavar="DURATION",
              help="failures before the first success within this period do not count "
              "[default: 0s]")
@click.option("--watchdog", metavar="DURATION", help="sd_notify watchdog: restart when no "
              "WATCHDOG=1 arrives on $NOTIFY_SOCKET for this long [default: off]")
@click.option("--leak-window", metavar="DURATION", help="least history before a leak "
              "verdict (log lines with rate and ETA); 'off' disables [default: 5m]")
@click.option("--log-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="also write logs to "
              "DIR/<program>.log and DIR/memwarden.log, rotated by size")
@click.option("--json", "json_logs", is_flag=True, default=None, help="structured JSON logs")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="memwarden.toml or pyproject.toml [default: found from the current "
              "directory up]")
@click.option("--control-socket", metavar="PATH", help=CONTROL_HELP)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(command: tuple[str, ...], config_path: str | None, control_socket: str | None,
        **options: Any) -> None:
    """Supervise CMD (after --) or the [[program]] tables of the config file."""
    from memwarden.supervisor.config import load_supervisor_config
    from memwarden.supervisor.main import exec_lean, launch, load_table

    options["control_socket"] = control_socket
    options["cgroup"] = False if options.pop("no_cgroup") else None
    options["socket"] = list(options["socket"]) or None
    options["json"] = options.pop("json_logs")
    try:
        table = load_table(config_path)
        load_supervisor_config(options, tuple(command), table=table)  # exit 2 before any start
    except ConfigError as err:
        _usage_error("run", err)
        return
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
