"""Capture real cgroup v2 trees as reader fixtures (run as root on a cgroup v2 kernel, e.g.
in the CI's guest): `python tests/cgroup2/capture_fixtures.py tests/fixtures/cgroup`.

- v2-guest-group: a process in a 256 MiB group below the root, seen from the host's namespace;
- v2-guest-container: the same group seen from inside it (cgroup namespace, read-only mount).

Each holds proc/1/{cgroup,mountinfo} (mountinfo cut to its cgroup2 lines) and the group's
interface files under fs/, as the fixture-tree readers expect.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.cgroup2.v2_helpers import MIB, container_prefix
from tests.cgroup_helpers import allocator_command, close_pipes, v2_memory_cgroup

# Prints the process's view: its cgroup line, its cgroup2 mount lines, and its group dir.
VIEW = r"""
import sys
cgroup = open("/proc/self/cgroup").read()
mounts = [l for l in open("/proc/self/mountinfo") if " - cgroup2 " in l]
print(cgroup + "\0" + "".join(mounts), end="")
"""


def _copy_group(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if entry.is_file() and entry.name.startswith(("memory.", "cgroup.controllers",
                                                      "cgroup.subtree_control", "cgroup.events")):
            try:
                (target / entry.name).write_bytes(entry.read_bytes())
            except OSError:
                continue  # write-only files (memory.reclaim)


def _write_view(out: Path, view: str, group_source: Path) -> None:
    cgroup_text, mountinfo = view.split("\0")
    shutil.rmtree(out, ignore_errors=True)
    (out / "proc" / "1").mkdir(parents=True)
    (out / "proc" / "1" / "cgroup").write_text(cgroup_text)
    (out / "proc" / "1" / "mountinfo").write_text(mountinfo)
    group = cgroup_text.strip().split("::", 1)[1]
    mount_point = mountinfo.split()[4]
    _copy_group(group_source, out / "fs" / mount_point.lstrip("/") / group.lstrip("/"))


def main(fixtures: Path) -> None:
    with v2_memory_cgroup(256 * MIB) as group:
        holder = subprocess.Popen(allocator_command(64 * MIB, group), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        assert holder.stdout is not None
        holder.stdout.readline()
        outside = subprocess.run(
            ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$0" -c "$1"', sys.executable,
             VIEW], capture_output=True, text=True, check=True).stdout
        inside = subprocess.run([*container_prefix(group), sys.executable, "-c", VIEW],
                                capture_output=True, text=True, check=True).stdout
        # The same group's files, read once for both views (they see one directory).
        _write_view(fixtures / "v2-guest-group", outside, group)
        _write_view(fixtures / "v2-guest-container", inside, group)
        close_pipes(holder)
        holder.wait()
    print(f"captured into {fixtures}: v2-guest-group, v2-guest-container")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.getcwd()))
