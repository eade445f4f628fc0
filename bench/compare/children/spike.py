"""Spike allocator: fills its cgroup to ~headroom below the limit, then allocates flat out.

The ballast is sized from the cgroup's own usage, so whatever the supervisor itself uses
inside the same group counts, as it would in a container.
"""

from __future__ import annotations

import argparse
import time

import marker

CHUNK_BYTES = 8 * 2**20


def own_memory_cgroup() -> str:
    with open("/proc/self/cgroup", encoding="ascii") as cgroups:
        for line in cgroups:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return "/sys/fs/cgroup/memory" + path
    raise SystemExit("spike: no cgroup v1 memory controller for this process")


def read_int(path: str) -> int:
    with open(path, encoding="ascii") as source:
        return int(source.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markers", required=True)
    parser.add_argument("--headroom-bytes", type=int, default=100 * 2**20)
    parser.add_argument("--max-bytes", type=int, default=2 * 2**30)
    parser.add_argument("--settle-s", type=float, default=1.0)
    args = parser.parse_args()

    marker.install_stop_handler(args.markers)
    marker.record(args.markers, "start")
    group = own_memory_cgroup()
    limit_bytes = read_int(group + "/memory.limit_in_bytes")
    held: list[bytes] = []
    ballast_target_bytes = limit_bytes - args.headroom_bytes - CHUNK_BYTES
    while read_int(group + "/memory.usage_in_bytes") < ballast_target_bytes:
        held.append(marker.touch(CHUNK_BYTES))
    marker.record(
        args.markers, "ready", rss_bytes=marker.rss_bytes(),
        usage_bytes=read_int(group + "/memory.usage_in_bytes"), limit_bytes=limit_bytes,
    )
    # The settle time gives every supervisor a steady view before the spike; a sleep in the
    # workload, not synchronisation.
    time.sleep(args.settle_s)
    marker.record(args.markers, "spike")
    while marker.rss_bytes() < args.max_bytes:
        held.append(marker.touch(CHUNK_BYTES))
    marker.record(args.markers, "survived", rss_bytes=marker.rss_bytes())
    held.clear()
    time.sleep(3600)


if __name__ == "__main__":
    main()
