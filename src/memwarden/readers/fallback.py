"""Non-Linux: process figures from psutil; every Linux-only source reports itself unavailable."""

from __future__ import annotations

from memwarden.readers.proc import ProcessMemory
from memwarden.readers.tree import TreeMemory


def read_process_memory_psutil(pid: int) -> ProcessMemory:
    """Raise NoSuchProcessError / ProcessAccessError like the /proc reader does."""
    raise NotImplementedError


def read_tree_memory_psutil(pid: int) -> TreeMemory:
    raise NotImplementedError
