"""Who holds the growing objects: a bounded back-reference search to a module.

From a few of the growing objects, gc.get_referrers() is asked level by level (one heap scan
per level, all the frontier at once) until a module's globals are reached. Breadth first, so
the first path found is a shortest one; among those found at that depth the canonical one
wins (the module that defines the holder's type, then the standard library, then the rest).
The path is then named forwards, in the words of the source:
`logging:root.manager.loggerDict['app'].handlers`, shown as
`logging.getLogger('app').handlers`.

No referrer at all (other than the search's own lists) is evidence too: the objects are held
from C (an extension module's structure, a leaked reference).
"""

from __future__ import annotations

import gc
import sys
import sysconfig
import types
from dataclasses import dataclass
from typing import Any

from memwarden.leak.census import instance_dict, key_text
from memwarden.leak.own import is_own_module

MAX_DEPTH = 10  # levels of referrers searched
MAX_FRONTIER = 48  # objects carried from one level to the next
EXTRA_DEPTH = 5  # levels searched past the first root found, for a more canonical one
SKIPPED_ROOTS = ("sys", "gc", "builtins", "importlib", "_frozen_importlib")
CONTAINERS = (dict, list, tuple, set, frozenset)
# Standard-library extensions that other modules (memwarden's included) import as helpers:
# loaded last often, they say nothing about who holds memory from C.
STDLIB_HELPERS = frozenset({
    "_json", "_pickle", "_random", "_sha512", "_sha256", "_sha1", "_md5", "_sha3", "_blake2",
    "_hashlib", "_bisect", "_heapq", "_struct", "math", "select", "_socket", "fcntl",
    "_posixsubprocess", "binascii", "zlib", "_datetime", "_opcode", "_contextvars", "array",
    "_queue", "grp", "pwd", "termios", "resource", "mmap", "unicodedata", "_decimal", "_lzma",
    "_bz2", "_csv", "_uuid", "_ssl", "_statistics", "_zoneinfo"})
STDLIB_DIR = sysconfig.get_paths()["stdlib"]


@dataclass(frozen=True, slots=True)
class OwnerPath:
    path: str  # "logging.getLogger('app').handlers", or "" when held from C
    module: str  # the module at the root of the path, or the extension suspected
    held_by_c: bool = False  # no Python referrer at all

    def describe(self) -> str:
        if self.held_by_c:
            return f"no Python referrers: held by a C extension (module {self.module})"
        return self.path


def _module_dicts() -> dict[int, str]:
    roots: dict[int, str] = {}
    for name, module in list(sys.modules.items()):
        if module is None or is_own_module(name) or name in SKIPPED_ROOTS:
            continue
        try:
            roots[id(object.__getattribute__(module, "__dict__"))] = name
        except Exception:  # a module object that is not one (lazy loaders, proxies)
            continue
    return roots


def _rank(module: str, holder_module: str) -> tuple[int, int, str]:
    """Lower is more canonical: the defining module, then the standard library."""
    root = module.partition(".")[0]
    defining = 0 if holder_module in (module, root) or holder_module.startswith(root + ".") else 1
    where = getattr(sys.modules.get(module), "__file__", None) or ""
    stdlib = 0 if where.startswith(STDLIB_DIR) and "site-packages" not in where else 1
    return defining, stdlib, module


def find_owner(targets: list[Any], *, extension_hint: str | None = None) -> OwnerPath | None:
    """A path from a module to one of targets; None when none was found within the bounds.
    OwnerPath(held_by_c=True) when nothing in Python refers to any of them."""
    if not targets:
        return None
    roots = _module_dicts()
    frontier: dict[int, Any] = {id(t): t for t in targets}
    child_of: dict[int, tuple[Any, Any]] = {}  # holder id -> (holder, the object it holds)
    seen = set(frontier)
    own = {id(frontier), id(child_of), id(seen), id(targets), id(roots)}
    holder_module = _module_of(type(targets[0]))
    candidates: list[tuple[tuple[int, int, str], int, Any]] = []
    first_found = MAX_DEPTH
    for depth in range(MAX_DEPTH):
        referrers = gc.get_referrers(*frontier.values())
        own.add(id(referrers))
        found: list[tuple[tuple[int, int, str], Any]] = []
        following: dict[int, Any] = {}
        reached: set[int] = set()  # targets with a referrer (depth 0 only)
        for holder in referrers:
            if id(holder) in own or id(holder) in seen or isinstance(holder, types.FrameType):
                continue
            if depth == 0:
                reached.update(_all_held(holder, frontier))
            held = _held(holder, frontier)
            if held is None:
                continue
            seen.add(id(holder))
            child_of[id(holder)] = (holder, held)
            if id(holder) in roots:
                found.append((_rank(roots[id(holder)], holder_module), holder))
            elif len(following) < MAX_FRONTIER and not isinstance(holder, types.ModuleType):
                following[id(holder)] = holder
        del referrers
        if depth == 0 and 2 * len(reached) < len(targets):
            # Most of them have no Python referrer at all: something in C holds them.
            return OwnerPath("", extension_hint or _extension_of(type(targets[0])) or "?",
                             held_by_c=True)
        candidates.extend((rank, depth, holder) for rank, holder in found)
        if candidates and (depth >= first_found + EXTRA_DEPTH or candidates[0][0][0] == 0
                           or not following):
            break
        if found and first_found > depth:
            first_found = depth
        if not following:
            return None
        own.add(id(following))
        if found:  # a root's own module object is not followed further
            following = {k: v for k, v in following.items() if id(v) not in roots}
        frontier = following
    if not candidates:
        return None
    # The defining module's path first, then the shallowest, then the standard library.
    _, _, root = min(candidates, key=lambda c: (c[0][0], c[1], c[0][1], c[0][2]))
    return OwnerPath(_name_path(roots[id(root)], root, child_of), roots[id(root)])


def _held(holder: Any, frontier: dict[int, Any]) -> Any:
    try:
        for referent in gc.get_referents(holder):
            if id(referent) in frontier:
                return referent
    except Exception:  # a type whose traverse misbehaves: not a usable link
        return None
    return None


def _all_held(holder: Any, frontier: dict[int, Any]) -> set[int]:
    try:
        return {id(r) for r in gc.get_referents(holder) if id(r) in frontier}
    except Exception:  # a type whose traverse misbehaves: not a usable link
        return set()


def _name_path(module: str, root: Any, child_of: dict[int, tuple[Any, Any]]) -> str:
    """Name the chain root -> ... -> target forwards. The last hop (a container to one of
    its items) is left out: the container is what grows."""
    hops: list[tuple[Any, Any]] = []
    holder = root
    while id(holder) in child_of:
        holder, held = child_of[id(holder)]
        hops.append((holder, held))
        holder = held
    if len(hops) > 1 and issubclass(type(hops[-1][0]), CONTAINERS):
        hops.pop()
    parts = [module + ":"]
    attributes = True  # module globals name attributes; so do instance and class dicts
    for holder, held in hops:
        step = _edge(holder, held, attributes)
        parts.append(".?" if step is None else step)
        attributes = step == ""
    return _readable("".join(parts).replace(":.", ":"))


def _edge(holder: Any, held: Any, attributes: bool) -> str | None:
    """How holder reaches held, as source text ('.attr', "['key']", '[3]'); '' for a hop that
    reads as nothing (an instance or a class to its own __dict__)."""
    tp = type(holder)
    if tp is dict:
        for key, value in list(holder.items()):
            if value is held:
                if attributes and type(key) is str and key.isidentifier():
                    return f".{key}"
                return f"[{key_text(key)}]"
        return None
    if issubclass(tp, type):
        if held is getattr(holder, "__dict__", None) or type(held) is dict:
            return ""  # the class's own __dict__: its entries follow as attributes
        for key, value in list(vars(holder).items()):
            if value is held:
                return f".{key}"
        return None
    if issubclass(tp, (list, tuple)):
        for index, value in enumerate(holder):
            if value is held:
                return f"[{index}]"
        return None
    attributes_dict = instance_dict(holder)
    if attributes_dict is not None:
        if attributes_dict is held:
            return ""
        for key, value in list(attributes_dict.items()):
            if value is held:
                return f".{key}"
    if issubclass(tp, (set, frozenset)):
        return "{...}"
    return f".<{tp.__name__}>"


def _readable(path: str) -> str:
    """`logging:root.manager.loggerDict['x']...` reads as `logging.getLogger('x')...`."""
    marker = ".manager.loggerDict["
    if path.startswith("logging:") and marker in path:
        rest = path.split(marker, 1)[1]
        key, _, tail = rest.partition("]")
        return f"logging.getLogger({key}){tail}"
    return path


def _module_of(tp: type) -> str:
    try:
        module = type.__getattribute__(tp, "__module__")
    except Exception:  # a metaclass computing __module__ can raise
        return "?"
    return module if isinstance(module, str) else "?"


def _extension_of(tp: type) -> str | None:
    module = sys.modules.get(_module_of(tp))
    where = getattr(module, "__file__", None) or ""
    return _module_of(tp) if where.endswith((".so", ".pyd")) else None


def latest_extension(module_names: list[str]) -> str | None:
    """The extension module (compiled, .so) loaded last among module_names (sys.modules keeps
    import order), a third-party one before the standard library's: the prime suspect for
    memory that only C code holds."""
    stdlib: str | None = None
    for name in reversed(module_names):
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) or ""
        if not where.endswith((".so", ".pyd")) or is_own_module(name):
            continue
        if not where.startswith(STDLIB_DIR) or "site-packages" in where:
            return name
        if name not in STDLIB_HELPERS:
            stdlib = stdlib or name
    return stdlib
