"""The supervisor process proper, started lean: `memwarden run` validates its options with
click, then execs `python -S` into `main()` here (same pid), so the long-lived supervisor
carries neither click nor site-packages' start-up imports (~3-5 MB of RSS; target: 15 MB).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from memwarden.errors import ConfigError
from memwarden.exitcodes import EXIT_USAGE

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BOOT = "import sys;sys.path[:0]=[sys.argv[1]];from memwarden.supervisor.main import main;main()"
NO_EXEC_ENV = "MEMWARDEN_SUPERVISOR_NO_EXEC"  # run in the calling process (debuggers, tests)
# The options and config table travel in the environment, not argv: argv is world-readable in
# /proc/PID/cmdline and a [[program]] env table may hold secrets. Removed before any spawn.
PAYLOAD_ENV = "MEMWARDEN_SUPERVISOR_PAYLOAD"


def load_table(config_path: str | None) -> dict[str, Any]:
    """The memwarden TOML table (--config, $MEMWARDEN_CONFIG, or found from the cwd up)."""
    from memwarden.settings.files import read_config

    return read_config(config_path, flag="--config").table


def launch(options: dict[str, Any], command: tuple[str, ...], table: dict[str, Any]) -> int:
    """Build, bind the control socket and run; the exit status (2 for bad configuration)."""
    from memwarden.supervisor import outputs
    from memwarden.supervisor.config import load_supervisor_config
    from memwarden.supervisor.control import ControlError, ControlServer
    from memwarden.supervisor.control_dir import control_location
    from memwarden.supervisor.loop import Supervisor

    attached = None
    try:
        config = load_supervisor_config(options, command, table=table)
        supervisor = Supervisor(config)
        attached = outputs.attach(supervisor, table, trace_path=config.trace_path)
        path, private_dir = control_location(config.control_path)
        supervisor.control = ControlServer(path, supervisor.handle_control,
                                           private_dir=private_dir,
                                           on_error=supervisor.guard.report)
    except (ConfigError, ControlError, OSError) as err:
        if attached is not None:
            attached.close()
        sys.stderr.write(f"memwarden: error: {err}\n")
        return EXIT_USAGE
    try:
        return supervisor.run()
    finally:
        attached.close()


def exec_lean(options: dict[str, Any], command: tuple[str, ...], table: dict[str, Any]) -> None:
    """Replace this process with a lean interpreter running launch(); returns only when it
    cannot (then the caller runs launch() itself)."""
    if os.environ.get(NO_EXEC_ENV) or not sys.executable:
        return
    package_parent = str(Path(__file__).resolve().parents[2])
    # The table travels as JSON, so the lean process never imports tomllib (TOML dates: str).
    payload = json.dumps({"options": options, "command": list(command), "table": table},
                         default=str)
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, PAYLOAD_ENV: payload}
    try:
        os.execve(sys.executable, [sys.executable, "-S", "-c", BOOT, package_parent], env)
    except OSError:
        return


def main() -> None:
    payload = json.loads(os.environ.pop(PAYLOAD_ENV))
    sys.exit(launch(payload["options"], tuple(payload["command"]), payload["table"]))
