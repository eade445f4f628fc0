"""Slow leaker: starts a little below the threshold, then leaks at a steady rate.

It records ``crossed`` the first time its own RSS (from /proc/self/statm, after each step)
reaches the restart threshold, so the harness can time the supervisor's stop signal against it.
"""

from __future__ import annotations

import argparse
import random
import time

import marker

STEP_S = 0.05


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markers", required=True)
    parser.add_argument("--threshold-bytes", type=int, required=True)
    parser.add_argument("--start-bytes", type=int, required=True, help="ballast before leaking")
    parser.add_argument("--rate-bytes-per-s", type=int, default=20 * 2**20)
    parser.add_argument("--max-bytes", type=int, default=2**30, help="stop leaking here")
    parser.add_argument("--jitter-s", type=float, default=0.0,
                        help="wait a random 0..jitter-s first, so the crossing falls at a "
                        "random phase of a supervisor's check period")
    args = parser.parse_args()

    crossed = False
    step_started_s: float | None = None  # when the last step began

    def crossed_in_this_step() -> None:
        # A supervisor notified by the kernel (a cgroup threshold) can signal inside the step
        # that crosses, before the check after it. The check before that step was below the
        # threshold, so date the crossing to the step's start: the delay is an upper bound.
        rss = marker.rss_bytes()
        if not crossed and step_started_s is not None and rss >= args.threshold_bytes:
            marker.record(args.markers, "crossed", rss_bytes=rss, t=step_started_s,
                          in_step=True)

    marker.install_stop_handler(args.markers, before=crossed_in_this_step)
    marker.record(args.markers, "start")
    time.sleep(random.uniform(0.0, args.jitter_s))
    held = [marker.touch(args.start_bytes)]
    marker.record(args.markers, "ready", rss_bytes=marker.rss_bytes())
    step_bytes = int(args.rate_bytes_per_s * STEP_S)
    next_step_s = time.monotonic()
    while True:
        rss = marker.rss_bytes()
        if not crossed and rss >= args.threshold_bytes:
            crossed = True
            marker.record(args.markers, "crossed", rss_bytes=rss)
        if rss < args.max_bytes:
            step_started_s = time.monotonic()
            held.append(marker.touch(step_bytes))
        next_step_s += STEP_S
        time.sleep(max(0.0, next_step_s - time.monotonic()))


if __name__ == "__main__":
    main()
