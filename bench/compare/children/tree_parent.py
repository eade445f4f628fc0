"""A parent holding some memory that spawns a memory-hungry grandchild (like headless Chromium).

Neither process alone crosses the threshold; their sum does. The parent's stop handler exits
without touching the grandchild, like a naive app: whether the grandchild survives a restart
shows whether the supervisor stops the whole tree.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

import marker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markers", required=True)
    parser.add_argument("--parent-bytes", type=int, default=150 * 2**20)
    parser.add_argument("--grandchild-bytes", type=int, default=200 * 2**20)
    parser.add_argument("--grandchild", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    marker.install_stop_handler(args.markers)
    if args.grandchild:
        held = marker.touch(args.grandchild_bytes)
        marker.record(args.markers, "grandchild_ready", rss_bytes=marker.rss_bytes())
        while held:
            signal.pause()
        return
    held = marker.touch(args.parent_bytes)
    grandchild = subprocess.Popen(
        [sys.executable, __file__, "--markers", args.markers, "--grandchild",
         "--grandchild-bytes", str(args.grandchild_bytes)],
    )
    marker.record(
        args.markers, "ready", rss_bytes=marker.rss_bytes(), grandchild_pid=grandchild.pid
    )
    while held:
        signal.pause()


if __name__ == "__main__":
    main()
