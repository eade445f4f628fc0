"""A native leak: a C library (here libc through ctypes) allocates and never frees.

Python objects do not grow at all; only RSS does. memwarden should say "native" and point
at `memray run --native`.
"""

from __future__ import annotations

import ctypes
import ctypes.util

KIND = "leak"
OWNER = None
EXPECT = "native"
RATE = 16 * 16 * 1024

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.memset.restype = ctypes.c_void_p
_libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]


def step(i: int) -> None:
    for _ in range(16):
        pointer = _libc.malloc(16 * 1024)  # below the mmap threshold: from the heap
        _libc.memset(pointer, 1, 16 * 1024)  # touch it, so it is resident
        # the bug: the pointer is dropped, nobody calls free()
