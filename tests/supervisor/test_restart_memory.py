"""Memory restarts: a leaky child, and a tree whose total (not any one process) is too big."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.supervisor.sup_helpers import Running, tagged_pids, wait_for

LEAKY = """
    import os, sys, subprocess, threading
    import memwarden
    hook_file, tree_file = sys.argv[1], sys.argv[2]
    second_run = os.path.exists(hook_file)

    def save():
        with open(hook_file, "a") as f:
            f.write(f"{os.getpid()}\\n")

    memwarden.on_shutdown(save)
    memwarden.start(restart="off", interval="10s")  # hooks on SIGTERM; the supervisor decides
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(tree_file, "a") as f:
        f.write(f"{os.getpid()} {grandchild.pid}\\n")
    print("leaky up, second run:", second_run, flush=True)
    held = []
    pause = threading.Event()
    while not second_run:
        held.append(b"x" * (8 * 1024 * 1024))
        pause.wait(0.02)
    pause.wait(600)
"""


def test_leaky_child_restarted_for_memory_hook_ran_tree_gone(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    hook_file, tree_file = tmp_path / "hook", tmp_path / "tree"
    command = [*script("leaky", LEAKY), str(hook_file), str(tree_file)]
    sup = supervise("--limit", "200M", "--grace", "20s", command=command)
    log = sup.wait_log("restart (memory)")
    wait_for(lambda: len(tree_file.read_text().splitlines()) >= 2 if tree_file.exists()
             else False, what="second generation")
    first_pid, first_grandchild = map(int, tree_file.read_text().splitlines()[0].split())
    assert hook_file.read_text().split() == [str(first_pid)]  # its on_shutdown hook ran
    log = sup.log
    assert "tier restart" in log and "limit 200.0 MiB (budget)" in log
    # Nothing of the first tree is left: neither the child nor its grandchild.
    live = tagged_pids(sup.tag)
    assert first_pid not in live and first_grandchild not in live
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    wait_for(lambda: not tagged_pids(sup.tag), what="every process of the tree gone")


TREE = """
    import os, sys, subprocess, threading
    marker = sys.argv[1]
    pause = threading.Event()
    if os.path.exists(marker):
        print("second run: idle", flush=True)
        pause.wait(600)
    open(marker, "w").close()
    # Neither process alone reaches 190 MiB (95% of 200M); together they do.
    code = "import threading; b = b'x' * (110 * 2**20); print('grandchild holds 110 MiB', " \\
           "flush=True); threading.Event().wait(600)"
    subprocess.Popen([sys.executable, "-c", code])
    held = b"x" * (90 * 2**20)
    print("child holds 90 MiB", flush=True)
    pause.wait(600)
"""


def test_restart_on_tree_total(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    command = [*script("tree", TREE), str(tmp_path / "marker")]
    sup = supervise("--limit", "200M", "--grace", "5s", command=command)
    sup.wait_log("restart (memory)")
    sup.wait_log("second run: idle", stream="out")
    log = sup.log
    line = next(x for x in log.splitlines() if "restart (memory)" in x)
    assert "in 2 process(es)" in line or "in 3 process(es)" in line, line
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    wait_for(lambda: not tagged_pids(sup.tag), what="tree gone")


HOLDER = """
    import os, sys, threading
    size_mib, marker = int(sys.argv[1]), sys.argv[2]
    first_run = not os.path.exists(marker)
    open(marker, "a").close()
    held = b"x" * (size_mib * 2**20 if first_run else 1)  # only the first run is big
    print("holding", len(held), "bytes", flush=True)
    threading.Event().wait(600)
"""


def test_total_budget_restarts_the_largest_program(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]], tmp_path: Path
) -> None:
    command = script("holder", HOLDER)
    config = tmp_path / "memwarden.toml"
    config.write_text(
        '[supervisor]\nbudget = "150M"\nmax_restarts = 1\n'
        f'[[program]]\nname = "small"\ncommand = {[*command, "40", str(tmp_path / "s")]!r}\n'
        f'[[program]]\nname = "big"\ncommand = {[*command, "120", str(tmp_path / "b")]!r}\n'
        .replace("'", '"')
    )
    sup = supervise("--config", str(config))
    log = sup.wait_log("restart (memory)")
    sup.wait_log("[big] started pid", count=2)
    line = next(x for x in log.splitlines() if "restart (memory)" in x)
    assert "[big]" in line and "total budget" in line and "big is the largest program" in line
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
    wait_for(lambda: not tagged_pids(sup.tag), what="both trees gone")


STEADY = """
    import threading
    held = b"x" * (60 * 1024 * 1024)  # above critical (85 % of 64M), below restart (95 %)
    print("steady up", flush=True)
    threading.Event().wait(600)
"""


def test_critical_timeout_restarts_a_program_stuck_at_critical(
    supervise: Callable[..., Running], script: Callable[[str, str], list[str]]
) -> None:
    sup = supervise("--limit", "80M", "--critical", "40M", "--restart", "76M",
                    "--critical-timeout", "1s", "--no-cgroup", "--max-restarts", "10",
                    command=script("steady", STEADY))
    log = sup.wait_log("restart (memory)")
    assert "stayed at critical for 1" in log and "(critical_timeout)" in log, log
    assert "memory tier critical -> restart" in log
    assert sup.cli("stop").returncode == 0
    assert sup.exit_code() == 0
