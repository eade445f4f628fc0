"""What is memwarden's own: its modules, its source files, the imports it triggers.

The census, the tracemalloc window and the diff leave these out, so memwarden's bookkeeping
and its lazy imports (pickle, psutil...) never show as a leak's growth.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

PACKAGE = "memwarden"
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
TRACEMALLOC_FILE = os.sep + "tracemalloc.py"  # not imported here: it imports pickle
IMPORT_MACHINERY = ("<frozen importlib", "importlib/")


OWN_IMPORTS: set[str] = set()  # modules first imported while memwarden's own jobs ran
# Shipped with memwarden but applications like any other (the demo, the examples in the
# wheel): their leaks must be found.
APPLICATIONS = (PACKAGE + ".demo", PACKAGE + ".examples")
APPLICATION_DIRS = (PACKAGE_DIR + "demo" + os.sep, PACKAGE_DIR + "examples" + os.sep)


def is_own_module(name: str) -> bool:
    if any(name == app or name.startswith(app + ".") for app in APPLICATIONS):
        return False
    return name == PACKAGE or name.startswith(PACKAGE + ".") or name in OWN_IMPORTS


def run_noting_imports(job: Callable[[], T]) -> T:
    """Run one of memwarden's own jobs; the modules it imports (pickle for a snapshot, the
    census...) are memwarden's, not the application's."""
    before = set(sys.modules)
    try:
        return job()
    finally:
        OWN_IMPORTS.update(set(sys.modules) - before)


def is_own_file(filename: str) -> bool:
    if filename.startswith(APPLICATION_DIRS):
        return False
    return filename.startswith(PACKAGE_DIR) or filename.endswith(TRACEMALLOC_FILE)


def _importing(filename: str) -> bool:
    return filename.startswith(IMPORT_MACHINERY) or "/importlib/" in filename


def is_own_traceback(filenames: Sequence[str]) -> bool:
    """filenames oldest first. Ours when the innermost frame is memwarden's, or when the
    allocation happens inside an import that memwarden started (a lazy import). An
    application called *through* memwarden (its web middleware) is not ours: its own frame
    is the innermost."""
    if not filenames:
        return False
    if is_own_file(filenames[-1]):
        return True
    imports = [i for i, name in enumerate(filenames) if _importing(name)]
    if not imports:
        return False
    caller = imports[0] - 1  # the frame that ran the outermost `import`
    return caller >= 0 and is_own_file(filenames[caller])


def site_filename(site: str) -> str:
    """'path/to/file.py:123' -> 'path/to/file.py'."""
    return site.rpartition(":")[0] or site
