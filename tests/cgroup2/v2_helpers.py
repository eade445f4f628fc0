"""cgroup v2 scenes for tests: a container's view (a cgroup namespace rooted at a limited group,
cgroupfs mounted read-only, as Docker and Kubernetes give it) and a delegated subtree.

    reason = v2_container_reason()
    if reason: pytest.skip(reason)
    with v2_memory_cgroup(256 * MIB) as group:
        argv = [*container_prefix(group), *memwarden_cmd("check", "--json")]
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.cgroup_helpers import v2_unavailable_reason

MIB = 2**20

# Joins the group, then enters a new cgroup namespace (rooted there) and mount namespace, and
# mounts a fresh cgroup2 read-only: the process sees its group as /sys/fs/cgroup, read-only.
ENTER_CONTAINER = """
echo $$ > "$1/cgroup.procs" || exit 97
shift
exec unshare --cgroup --mount --propagation private /bin/sh -c '
  umount -l /sys/fs/cgroup && mount -t cgroup2 -o ro,nosuid,nodev,noexec cgroup2 /sys/fs/cgroup \
    || exit 98
  exec "$@"' container "$@"
"""


def v2_container_reason() -> str | None:
    """None when a container view can be emulated here (root, v2 memory, unshare), else why."""
    reason = v2_unavailable_reason()
    if reason is not None:
        return reason
    if shutil.which("unshare") is None:
        return "no unshare(1) (util-linux) to make a cgroup namespace"
    return None


def container_prefix(group: os.PathLike[str] | str) -> list[str]:
    """argv prefix that runs the rest inside `group`'s container view."""
    return ["/bin/sh", "-c", ENTER_CONTAINER, "enter-container", os.fspath(group)]


def run_in_container(group: os.PathLike[str] | str, argv: list[str], *, env: dict[str, str],
                     timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*container_prefix(group), *argv], env=env, capture_output=True,
                          text=True, timeout=timeout_s)


TEST_UID = 65534  # nobody: an unprivileged user the delegated subtree is chowned to


def _reachable_by_others(path: Path) -> bool:
    """Every directory on the way is o+x and the file itself o+r (mode bits, no ACLs)."""
    path = path.resolve()
    for directory in path.parents:
        if not directory.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def rootless_reason(src: Path) -> str | None:
    """None when a delegated subtree can be tested here (root to set it up, setpriv to drop to
    an unprivileged user who can run this interpreter and read this checkout), else why."""
    reason = v2_unavailable_reason()
    if reason is not None:
        return reason
    if shutil.which("setpriv") is None:
        return "no setpriv(1) (util-linux) to run as an unprivileged user"
    for needed in (Path(sys.executable), src / "memwarden" / "__init__.py"):
        if not _reachable_by_others(needed):
            return f"{needed} is not readable by an unprivileged user (a directory on its path " \
                   "lacks o+x)"
    return None


def delegate(group: Path, uid: int = TEST_UID) -> None:
    """What systemd's Delegate=yes does: the group directory and the files a delegatee writes
    (cgroup.procs, cgroup.threads, cgroup.subtree_control) belong to the user."""
    for path in (group, group / "cgroup.procs", group / "cgroup.threads",
                 group / "cgroup.subtree_control"):
        os.chown(path, uid, uid)


def as_user_in(group: Path, uid: int = TEST_UID) -> list[str]:
    """argv prefix: join `group` (as root, like systemd starting the service in it), then drop
    to uid with no capabilities left."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', os.fspath(group),
            "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--"]
