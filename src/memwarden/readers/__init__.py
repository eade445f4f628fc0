"""Readers: pure functions from a root path (`/proc`, `/sys/fs/cgroup`) to frozen dataclasses.

Every figure is an int of bytes (or a count); a source that cannot be read gives None, never 0.
"""
