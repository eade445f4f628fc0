"""Rootless owned cgroups: in a subtree delegated to an unprivileged user (what systemd's
Delegate=yes gives a service), `memwarden run` moves itself into a leaf, enables +memory and
runs as it does as root: the wall at memory.high, memory.events, a PSI trigger on the program's
group, a graceful stop at the wall, and the group removed at exit."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memwarden.supervisor.owned import hard_limit_bytes
from tests.cgroup2.v2_helpers import MIB, TEST_UID, as_user_in, delegate, rootless_reason
from tests.cgroup_helpers import v2_memory_cgroup
from tests.supervisor.sup_helpers import SRC, Running

pytestmark = [pytest.mark.cgroup,
              pytest.mark.skipif(rootless_reason(SRC) is not None,
                                 reason=rootless_reason(SRC) or "")]

# 100 MiB below its 300M wall, then as fast as it can; the second generation stays idle.
SPIKE = """
    import os, sys, threading
    import memwarden
    hook_file, ready_file = sys.argv[1], sys.argv[2]
    memwarden.on_shutdown(lambda: open(hook_file, "a").write(f"{os.getpid()}\\n"))
    memwarden.start(restart="off", interval="10s")  # hooks on SIGTERM; the supervisor decides
    held = [bytearray(200 * 1024 * 1024)]
    first = not os.path.exists(ready_file)
    with open(ready_file, "a") as f:
        f.write(f"{os.getpid()}\\n")
    if not first:
        print("idle", flush=True)
        threading.Event().wait(600)
    while True:
        held.append(bytearray(1024 * 1024))
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged user may write (its program, hook file, control socket)."""
    path = Path(tempfile.mkdtemp(prefix="memwarden-rootless-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_delegated_subtree_gets_owned_groups_and_a_graceful_stop_at_the_wall(
    supervise: Callable[..., Running], shared_dir: Path
) -> None:
    program = shared_dir / "spike.py"
    program.write_text(textwrap.dedent(SPIKE))
    hook_file, ready_file = shared_dir / "hook", shared_dir / "ready"
    with v2_memory_cgroup(1024 * MIB) as service:
        delegate(service)
        control = shared_dir / "control.sock"
        sup = supervise("--limit", "300M", "--max-restarts", "3", "--grace", "60s",
                        "--control-socket", str(control), prefix=as_user_in(service),
                        control=False, command=[sys.executable, str(program),
                                                str(hook_file), str(ready_file)])
        log = sup.wait_log("idle", stream="out") and sup.log
        assert f"moved the supervisor into {service}/supervisor and enabled +memory" in log, log
        match = re.search(r"detection: (.+?) \(owned cgroup (memwarden-\S+),", log)
        assert match is not None, log
        # memory.events on the group, and PSI: the service's own pressure file belongs to
        # root, so the trigger sits on the program's group, which the user created.
        assert match.group(1) == "cgroup-v2-events+psi+poll 100ms", log
        group = service / match.group(2)
        assert group.stat().st_uid == TEST_UID
        assert (service / "supervisor").stat().st_uid == TEST_UID
        assert "memory" in (service / "cgroup.subtree_control").read_text().split()
        # The wall: above the restart threshold (95 % of 300M) by max(16 MiB, 5 %).
        assert int((group / "memory.max").read_text()) == hard_limit_bytes(300 * MIB, 285 * MIB)
        # The spike was stopped gracefully: its shutdown hook ran; the kernel killed nothing.
        assert "restart (memory)" in log
        first_pid = ready_file.read_text().split()[0]
        assert hook_file.read_text().split() == [first_pid]
        assert "oom_kill 0" in (group / "memory.events").read_text()
        os.kill(sup.proc.pid, signal.SIGTERM)
        assert sup.exit_code() == 0
        assert not group.exists()  # removed at exit, by the unprivileged supervisor
