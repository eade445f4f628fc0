"""Leak shapes and healthy shapes as small programs, for `memwarden.start()` (the guardian)
and `memwarden run` (the supervisor). Each is Python source run with `python -c`; SPEED
scales how fast a leak grows (the suite runs them fast and short, the bench slower and long).

A program prints "ready" once it is running; a leak then grows for ever (until the run is
stopped), a healthy program does its work without growing.
"""

from __future__ import annotations

from dataclasses import dataclass

PRELUDE = """
import logging, sys, threading, time
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
import memwarden
memwarden.start(interval="{interval}", limit="4G")
pause = threading.Event()
print("ready", flush=True)
"""


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    kind: str  # "leak" or "ok"
    expect: tuple[str, ...]  # words the culprit line must contain (leaks)
    body: str  # runs after PRELUDE; {speed} is a rate multiplier
    growth: str = ""  # leaks: the classification the line must give ("python_heap", "native")

    def source(self, *, speed: float = 1.0, interval: str = "1s") -> str:
        return PRELUDE.format(interval=interval) + self.body.replace("{speed}", repr(speed))


HANDLERS = Shape("handler_list", "leak", ("logging.getLogger('app.requests').handlers",
                                          "logging.StreamHandler"), """
import io

def handle(n):
    log = logging.getLogger("app.requests")  # a logger held in logging's registry
    log.propagate = False
    log.addHandler(logging.StreamHandler(io.StringIO()))  # the bug: one more per call
    log.debug("request %d", n)

n = 0
while True:
    for _ in range(int(40 * {speed})):
        n += 1
        handle(n)
    pause.wait(0.1)
""", growth="python_heap")

REGISTRY = Shape("registry_dict", "leak", ("sessions", "Session"), """
class Session:
    def __init__(self, user):
        self.user = user
        self.history = [user] * 20

class Registry:
    def __init__(self):
        self.sessions = {}

app_registry = Registry()  # a module global: the registry lives for ever
n = 0
while True:
    for _ in range(int(300 * {speed})):
        n += 1
        app_registry.sessions[f"user-{n}"] = Session(f"user-{n}")  # never removed
    pause.wait(0.1)
""", growth="python_heap")

C_HELD = Shape("c_held_iterators", "leak", ("no Python referrers", "held by a C extension"),
               """
import ctypes

def keep(obj):  # a C structure keeps a reference nobody gives back (Py_IncRef, no DecRef)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))

rows = [bytes(64) for _ in range(16)]
while True:
    for _ in range(int(600 * {speed})):
        cursor = iter(list(rows))  # each cursor holds its own copy of the rows
        keep(cursor)
    pause.wait(0.1)
""", growth="python_heap")

TRACE_ONLY = Shape("tracemalloc_only", "leak", ("allocated at",), """
import collections

class _Hidden:  # not reachable from a module: a closure cell the census does not walk
    pass

def make_sink():
    chunks = collections.deque()
    def sink(n):
        chunks.append(f"payload {n} " * 40)  # strings: not gc-tracked, no type census row
    return sink

sink = make_sink()
n = 0
while True:
    for _ in range(int(400 * {speed})):
        n += 1
        sink(n)
    pause.wait(0.1)
""", growth="python_heap")

NATIVE_NEXT_TO_CACHE = Shape("native_and_churning_cache", "leak", ("native",), """
import collections, ctypes, ctypes.util, random

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
cache = collections.OrderedDict()  # an LRU cache that churns: bounded, never grows

while True:
    for _ in range(int(8 * {speed})):
        p = libc.malloc(64 * 1024)  # the bug: never freed
        libc.memset(p, 1, 64 * 1024)
    for _ in range(200):
        cache[random.random()] = bytes(512)
        if len(cache) > 2000:
            cache.popitem(last=False)
    pause.wait(0.1)
""", growth="native")

CACHE_WARMUP = Shape("cache_warmup", "ok", (), """
import random

cache = {}
keys = 30000  # random keys from a finite space: misses (and growth) fade as it fills
while True:
    for _ in range(int(800 * {speed})):
        key = random.randrange(keys)
        if key not in cache:
            cache[key] = bytes(300)
    pause.wait(0.1)
""")

BOUNDED_LRU = Shape("bounded_lru_cache", "ok", (), """
import functools, random

@functools.lru_cache(maxsize=5000)
def lookup(key):
    return bytes(400)

while True:
    for _ in range(int(1000 * {speed})):
        lookup(random.randrange(1_000_000))
    pause.wait(0.1)
""")

IDLE = Shape("idle", "ok", (), """
pause.wait()
""")

LEAKS = (HANDLERS, REGISTRY, C_HELD, TRACE_ONLY, NATIVE_NEXT_TO_CACHE)
HEALTHY = (CACHE_WARMUP, BOUNDED_LRU, IDLE)
ALL = {shape.name: shape for shape in (*LEAKS, *HEALTHY)}
