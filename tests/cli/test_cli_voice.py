"""One voice for every command: one error prefix, colour only on a terminal (NO_COLOR
respected), `check`'s exit status by tier, `monitor` lines that fit 80 columns, and a second
`run` on the same control socket refused with the way out."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cgroup_helpers import spawn_allocator, wait_ready
from tests.helpers import child_env, memwarden_cmd

MIB = 2**20
RunCli = Callable[..., subprocess.CompletedProcess[str]]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_on_terminal(args: list[str], columns: int = 80, timeout_s: float = 60,
                    **env: str) -> tuple[int, str]:
    """Run memwarden with stdout and stderr on a pseudo-terminal of `columns` columns."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environment = child_env(**env)
    environment.pop("COLUMNS", None)
    environment.setdefault("TERM", "xterm")
    child = subprocess.Popen(memwarden_cmd(*args), stdout=secondary, stderr=secondary,
                             stdin=subprocess.DEVNULL, env=environment)
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    code = child.wait(timeout=30)
    return code, b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--bogus"], "memwarden: error: no such option '--bogus' "
                               "(see 'memwarden check --help')"),
        (["nosuch"], "memwarden: error: no such command 'nosuch'"),
        (["check", "--metric", "peak"], "memwarden: error: --metric='peak': expected one of"),
        (["check", "notapid"], "memwarden: error: invalid value for '[PID]'"),
        (["check", "--limit", "lots"], "memwarden: error: --limit='lots'"),
        (["run", "--warn", "150%", "--", "true"], "memwarden: error: --warn='150%'"),
        (["run", "--no-cgroup"], "memwarden: error: command: give a command after --"),
        (["restart", "--control-socket"], "memwarden: error: option '--control-socket' requires"),
        (["report", "/nonexistent/trace.jsonl"], "memwarden: error: "),
        (["diff", "/nonexistent/a.json", "/nonexistent/b.json"], "memwarden: error: "),
        (["demo", "--duration", "5s"], "memwarden: error: duration='5s'"),
    ],
)
def test_every_error_is_one_line_with_one_prefix(run_cli: RunCli, args: list[str],
                                                 message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message), lines[0]
    assert "=None" not in lines[0] and "Usage:" not in result.stderr


def test_no_supervisor_is_exit_1_in_the_same_voice(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("status", "--control-socket", str(tmp_path / "none.sock"))
    assert result.returncode == 1
    assert result.stderr.startswith("memwarden: error: ")
    assert "no memwarden supervisor answers" in result.stderr


def test_errors_are_red_on_a_terminal_unless_no_color() -> None:
    code, text = run_on_terminal(["check", "--limit", "lots"])
    assert code == 2 and "\x1b[" in text and "memwarden: " in text
    assert ANSI.sub("", text).strip().startswith("memwarden: error: --limit='lots'")
    code, text = run_on_terminal(["check", "--limit", "lots"], NO_COLOR="1")
    assert code == 2 and "\x1b[" not in text
    assert text.strip().startswith("memwarden: error: --limit='lots'")


def test_no_colour_when_piped(run_cli: RunCli) -> None:
    result = run_cli("check", "--limit", "lots")
    assert "\x1b[" not in result.stderr
    result = run_cli("check", "--limit", "1T")
    assert "\x1b[" not in result.stdout


def test_check_exit_status_follows_the_tier(run_cli: RunCli,
                                            reaper: list[subprocess.Popen[bytes]]) -> None:
    child = spawn_allocator(60 * MIB)
    reaper.append(child)
    pid = str(wait_ready(child))
    base = ["check", pid, "--metric", "tree_rss", "--json"]
    measured = json.loads(run_cli(*base, "--limit", "10G").stdout)["measured_bytes"]

    def limit_at(ratio: float) -> str:  # a limit the measured figure is `ratio` of
        return f"{int(measured / ratio) // 1024}K"

    cases = [  # (limit, expected exit status, tier)
        ("10G", 0, "ok"),
        (limit_at(0.78), 1, "warn"),  # 70 % <= figure < 85 %
        (limit_at(0.90), 3, "critical"),  # 85 % <= figure < 95 %
        (limit_at(1.25), 4, "restart"),  # over the limit
    ]
    for limit, status, tier in cases:
        result = run_cli(*base, "--limit", limit)
        assert result.returncode == status, (limit, result.stdout, result.stderr)
        assert json.loads(result.stdout)["tier"] == tier
    warn_off = run_cli(*base, "--limit", limit_at(0.78), "--warn", "off")
    assert warn_off.returncode == 0


def test_check_over_the_limit_says_so_in_plain_words(
        run_cli: RunCli, reaper: list[subprocess.Popen[bytes]]) -> None:
    child = spawn_allocator(40 * MIB)
    reaper.append(child)
    pid = str(wait_ready(child))
    result = run_cli("check", pid, "--metric", "tree_rss", "--limit", "20M")
    assert result.returncode == 4
    assert "over the limit" in result.stdout and "over the budget limit" in result.stdout
    assert "only -" not in result.stdout and " -" not in result.stdout.split("headroom")[1][:12]


def test_monitor_on_a_terminal_fits_its_width_and_is_coloured(
        reaper: list[subprocess.Popen[bytes]]) -> None:
    child = spawn_allocator(30 * MIB)
    reaper.append(child)
    pid = str(wait_ready(child))
    code, text = run_on_terminal(["monitor", pid, "--interval", "100ms", "--duration", "1s",
                                  "--limit", "10G"], columns=80)
    assert code == 0
    assert "\x1b[32m" in text  # green: tier ok
    redraws = [ANSI.sub("", part) for part in text.split("\r") if "OK" in part]
    assert len(redraws) >= 5
    for line in redraws:
        assert len(line.rstrip("\n")) <= 79, line
        assert "MiB/10.0 GiB" in line  # the figures are never what gets cut
    _, plain = run_on_terminal(["monitor", pid, "--interval", "100ms", "--duration", "0.3s",
                                "--limit", "10G"], columns=80, NO_COLOR="1")
    assert "\x1b[32m" not in plain


def test_a_second_run_on_the_same_socket_suggests_control_socket(
        tmp_path: Path, reaper: list[subprocess.Popen[bytes]]) -> None:
    sock = str(tmp_path / "control.sock")
    first = subprocess.Popen(
        memwarden_cmd("run", "--no-cgroup", "--control-socket", sock, "--", sys.executable,
                      "-c", "import time; time.sleep(60)"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env(),
        start_new_session=True)
    reaper.append(first)
    deadline = time.monotonic() + 30
    while not Path(sock).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(sock).exists(), "the first supervisor never listened"
    second = subprocess.run(
        memwarden_cmd("run", "--no-cgroup", "--control-socket", sock, "--", "true"),
        capture_output=True, text=True, env=child_env(), timeout=60)
    assert second.returncode == 2
    assert second.stderr.startswith("memwarden: error: ")
    assert "another memwarden supervisor is listening there" in second.stderr
    assert "--control-socket PATH" in second.stderr


def test_colour_is_for_terminals_only_and_no_color_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from memwarden.cli.common import colour

    primary, secondary = pty.openpty()
    with open(secondary, "w") as terminal, open(os.devnull, "w") as devnull:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("TERM", "xterm")
        assert colour(terminal) and not colour(devnull)
        monkeypatch.setenv("NO_COLOR", "1")
        assert not colour(terminal)
        monkeypatch.setenv("NO_COLOR", "")  # set but empty: no effect, per no-color.org
        assert colour(terminal)
        monkeypatch.setenv("TERM", "dumb")
        assert not colour(terminal)
    os.close(primary)
