"""Commands in the supervisor's log are one line, and a shell reads them back unchanged."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from memwarden.supervisor.cmdline import quote_command

ARGVS = [
    ["python", "app.py", "--port", "8000"],
    ["python", "-c", "import time\nprint('ready')\n\ttime.sleep(1)\r\n"],
    ["sh", "-c", "echo 'it''s' \"$HOME\" `id` \\ done"],
    ["printf", "%s", "bell\x07 nul-free \x1b[31m escape", "wide ✓ \u2028 sep", "tab\there"],
    ["x", ""],
]


@pytest.mark.parametrize("argv", ARGVS)
def test_one_line_that_bash_reads_back(argv: list[str]) -> None:
    line = quote_command(argv)
    assert "\n" not in line and "\r" not in line and line.isprintable()
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    out = subprocess.run([bash, "-c", f"printf '%s\\0' {line}"], capture_output=True,
                         check=True).stdout
    assert out.decode().split("\0")[:-1] == argv


def test_plain_arguments_are_quoted_as_shlex_join_does() -> None:
    assert quote_command(["python", "my app.py", "--name=a'b"]) == \
        "python 'my app.py' '--name=a'\"'\"'b'"
