"""Declared settings: the guardian (top-level keys), each supervised program, the supervisor.

Defaults are written as a user would write them; they pass through the same converter.
"""

from __future__ import annotations

from memwarden.errors import ConfigError
from memwarden.settings.numbers import Duration, Fraction, Int, Size, Threshold
from memwarden.settings.program_keys import (
    check_name,
    parse_command,
    parse_env_table,
    parse_psi,
    parse_sockets,
    show_psi,
)
from memwarden.settings.registry import Setting
from memwarden.settings.types import Bool, Choice, Custom, FilePath, Url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MS = 0.001
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0


def _rate(value: Any, key: str) -> int:
    """'2G/s' or a bare size: bytes per second."""
    text = str(value).strip()
    try:
        return int(Size().parse(text[:-2] if text.lower().endswith("/s") else text, key))
    except ConfigError:
        raise ConfigError(key, value, "expected a size per second from 1M/s (e.g. 2G/s)") \
            from None


def _cron(value: Any, key: str) -> Any:
    from memwarden.supervisor.policy.cron import parse_cron

    return parse_cron(str(value), key=key)


def _show_command(command: Any) -> str:
    import shlex

    return shlex.join(command)


def _memory(section: str, interval: str, interval_max: float) -> list[Setting]:
    """The memory ladder: the guardian's top-level keys and each program's, the same rules."""
    flag = section == "program"
    return [
        Setting(section, "limit", Size(off=True), None,
                "memory budget; off: the cgroup limit, else the machine's memory",
                field="limit_bytes", flag=flag),
        Setting(section, "warn", Threshold(), "70%",
                "warn tier: a percentage of the effective limit, or a size", flag=flag),
        Setting(section, "critical", Threshold(), "85%",
                "critical tier: pressure hooks run, web apps shed load", flag=flag),
        Setting(section, "restart", Threshold(), "95%",
                "restart tier: shutdown hooks, then a graceful restart", flag=flag),
        Setting(section, "interval", Duration(10 * MS, interval_max), interval,
                "time between samples", field="interval_s", flag=flag),
        Setting(section, "critical_timeout", Duration(10 * MS, DAY, off=True), None,
                "restart (reason memory) after staying at critical this long",
                field="critical_timeout_s", flag=flag),
    ]


GUARD = [
    *_memory("guard", "1s", MIN),
    Setting("guard", "metric", Choice("auto", "tree_rss", "working_set"), "auto",
            "what is compared with the ladder: auto picks working_set inside a limited cgroup"),
    Setting("guard", "hysteresis", Fraction(), "0.05",
            "how far below a threshold memory must fall to leave its tier",
            field="hysteresis_fraction"),
    Setting("guard", "sustain", Duration(0, HOUR), "0s",
            "how long a tier must hold before its actions run", field="sustain_s"),
    Setting("guard", "trace", FilePath("parent"), None,
            "write every sample and event to this memwarden.trace/1 file", field="trace_path"),
]

PROGRAM = [
    Setting("program", "name", Custom(check_name, "1-64 letters, digits, '.', '_' or '-'"), None,
            "the program's name (default: from its command)", env=False),
    Setting("program", "command",
            Custom(parse_command, "a command line or a list of strings", show=_show_command),
            None,
            "the command to supervise (after -- on the command line)", env=False),
    Setting("program", "cwd", FilePath("dir"), None, "working directory", env=False),
    Setting("program", "env", Custom(parse_env_table, 'a table of NAME = "value"'), None,
            "extra environment variables", env=False),
    *_memory("program", "100ms", 1.0),
    Setting("program", "grace", Duration(0, HOUR), "10s",
            "time between SIGTERM and SIGKILL", field="grace_s", flag=True),
    Setting("program", "max_restarts", Int(0, 1_000_000), "5",
            "restarts of every kind allowed within restart_window", flag=True),
    Setting("program", "restart_window", Duration(1, 366 * DAY), "1h",
            "the window max_restarts counts over", field="restart_window_s", flag=True),
    Setting("program", "max_age", Duration(100 * MS, 366 * DAY, off=True), None,
            "restart a program after this long, less up to max_age_jitter",
            field="max_age_s", flag=True),
    Setting("program", "max_age_jitter", Fraction(), "0.1",
            "fraction of max_age taken off at random, so peers spread out"),
    Setting("program", "restart_at", Custom(_cron, "a 5-field cron line such as '0 4 * * *'",
                                            metavar="CRON", off=True), None,
            "scheduled restarts (local time)", flag=True),
    Setting("program", "backoff", Duration(0, HOUR), "100ms",
            "first crash-restart delay, doubled per quick crash", field="backoff_s"),
    Setting("program", "backoff_max", Duration(0, DAY), "15s",
            "longest crash-restart delay", field="backoff_max_s"),
    Setting("program", "stable_after", Duration(0, DAY), "30s",
            "a run this long resets the backoff", field="stable_after_s"),
    # The words of supervisor.states.Autorestart (not imported: the guardian loads this).
    Setting("program", "autorestart", Choice("always", "on-failure", "never"), "always",
            "when a program ends by itself: restart it always, only when it failed (nonzero "
            "status or a signal), or never; once it ends for good, `memwarden run` exits with "
            "its status", flag=True),
    Setting("program", "log_max_size", Size(64 * 1024, 1024**4), "10M",
            "rotate a log file at this size", field="log_max_bytes"),
    Setting("program", "log_backups", Int(0, 100), "3", "rotated log files kept"),
    Setting("program", "cgroup", Bool(), "true",
            "put each program in its own memory cgroup when possible", flag=True),
    Setting("program", "socket", Custom(parse_sockets,
                                        "tcp://HOST:PORT or unix:PATH, or a list",
                                        metavar="ADDR"), None,
            "bind once and hand to every generation (LISTEN_FDS, fd 3..); repeatable",
            field="sockets", flag=True, multiple=True),
    Setting("program", "health_url", Url(), None,
            "liveness probe: restart (reason watchdog) after health_failures failed GETs",
            flag=True),
    Setting("program", "health_interval", Duration(10 * MS, HOUR), "10s",
            "liveness probe period", field="health_interval_s", flag=True),
    Setting("program", "health_timeout", Duration(10 * MS, 5 * MIN), "1s",
            "liveness probe timeout", field="health_timeout_s", flag=True),
    Setting("program", "health_failures", Int(1, 1000), "3",
            "failed probes in a row that restart", flag=True),
    Setting("program", "health_start_period", Duration(0, DAY), "0s",
            "failures before the first success within this period do not count",
            field="health_start_period_s", flag=True),
    Setting("program", "watchdog", Duration(10 * MS, DAY, off=True), None,
            "sd_notify watchdog: restart when no WATCHDOG=1 arrives for this long",
            field="watchdog_s", flag=True),
    Setting("program", "leak_window", Duration(1, 30 * DAY, off=True), "1m",
            "least history before a leak verdict (log lines with rate and ETA)",
            field="leak_window_s", flag=True),
    Setting("program", "max_alloc_rate",
            Custom(_rate, "a size per second from 1M/s (e.g. 2G/s)", metavar="SIZE/s",
                   show=lambda rate: f"{Size().show(rate)}/s"), "2G/s",
            "the fastest allocation rate sampling plans for: far from a threshold the next "
            "sample waits until this rate could close the gap",
            field="max_alloc_rate_bytes_per_s", flag=True),
]

SUPERVISOR = [
    Setting("supervisor", "budget", Size(off=True), None,
            "total memory budget across programs (its ladder uses the programs' thresholds)"),
    Setting("supervisor", "log_dir", FilePath("dir"), None,
            "also write logs to DIR/<program>.log and DIR/memwarden.log, rotated by size",
            flag=True),
    Setting("supervisor", "json", Bool(), "false", "structured JSON logs", field="json_logs",
            flag=True),
    Setting("supervisor", "control_socket", FilePath("any"), None,
            "control socket path (default: $XDG_RUNTIME_DIR/memwarden/control.sock, "
            "/run/memwarden/control.sock as root)", field="control_path", flag=True,
            aliases=("MEMWARDEN_CONTROL_SOCKET",)),
    Setting("supervisor", "psi",
            Custom(parse_psi, "'some|full STALL WINDOW' such as 'some 100ms 2s' (window "
                              "500ms-10s)", metavar="SPEC", off=True, show=show_psi),
            "some 100ms 2s", "PSI trigger that wakes the loop to sample every program",
            flag=True),
    Setting("supervisor", "trace", FilePath("parent"), None,
            "append every program's samples and events to FILE (memwarden.trace/1, mode 0600; "
            "`memwarden report FILE` draws it)", field="trace_path", flag=True),
]

SETTINGS = [*GUARD, *PROGRAM, *SUPERVISOR]
