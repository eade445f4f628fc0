"""The small error hierarchy every layer raises; messages name the pid, path, key or value."""

from __future__ import annotations


class MemwardenError(Exception):
    """Base of every error memwarden raises on purpose."""


class ConfigError(MemwardenError):
    """A configuration key or value is wrong; the CLI exits with EXIT_USAGE."""

    def __init__(self, key: str, value: object, reason: str) -> None:
        self.key = key
        self.value = value
        self.reason = reason
        # A missing value names only the key: "command: a program needs a command".
        super().__init__(f"{key}: {reason}" if value is None else f"{key}={value!r}: {reason}")


class ReaderError(MemwardenError):
    """A source exists but could not be read (permissions, a torn read)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class NoSuchProcessError(MemwardenError):
    """The pid does not exist (or exited while being read)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        super().__init__(f"no process with pid {pid}")


class ProcessAccessError(MemwardenError):
    """The pid exists but its memory figures are not readable by this user."""

    def __init__(self, pid: int, path: str) -> None:
        self.pid = pid
        self.path = path
        super().__init__(f"pid {pid}: cannot read {path} (permission denied)")
