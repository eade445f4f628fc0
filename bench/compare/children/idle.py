"""Idle program: for the supervisors' own footprint."""

from __future__ import annotations

import argparse
import signal

import marker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markers", required=True)
    args = parser.parse_args()
    marker.install_stop_handler(args.markers)
    marker.record(args.markers, "ready", rss_bytes=marker.rss_bytes())
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
