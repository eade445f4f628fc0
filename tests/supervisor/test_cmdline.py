"""Commands in the supervisor's log are one line, and a shell reads them back unchanged."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest

from memwarden.supervisor.cmdline import quote_command
from tests.supervisor.sup_helpers import Running

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


def test_a_multi_line_python_c_is_one_log_line(supervise: Callable[..., Running]) -> None:
    script = "import threading\nprint('two lines', flush=True)\nthreading.Event().wait(600)"
    sup = supervise("--no-cgroup", command=[sys.executable, "-c", script])
    log = sup.wait_log("started pid")
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    started = [line for line in sup.log.splitlines() if "started pid" in line]
    assert len(started) == 1
    assert started[0].endswith(f"{sys.executable} -c $'import threading\\nprint(\\'two "
                               "lines\\', flush=True)\\nthreading.Event().wait(600)'")
    assert "print('two lines', flush=True)" not in log  # never the raw lines
