"""What a container holds, from its newest items: the type and the size of one item.

The owner census notes it for every container it names, so when a container grows the culprit
line can say what it holds (`holds __main__.Session (+47,100 objects, +2.5 MiB)`) without the
type census and its one unsliced `gc.get_objects()` call.

The newest items are the last ones: a list, a deque and a dict (insertion order) grow at their
end, so these are what a leak added. A set has no order: any few of its items stand in.
A weak reference says nothing about what leaks: its referent does (logging keeps weak
references to every handler, a WeakSet's data is a set of them), so it is followed.
Decisions are made on type(item) only: a proxy raises on anything else (see census).
"""

from __future__ import annotations

import collections
import itertools
import sys
import weakref
from collections.abc import Iterator
from typing import Any

from memwarden.leak.typecount import type_name

NEWEST_ITEMS = 8  # items looked at per container: enough for a majority, cheap per container
ORDERED = (list, collections.deque)


def _newest(container: Any) -> Iterator[Any]:
    tp = type(container)
    if issubclass(tp, dict):
        return iter(list(itertools.islice(reversed(container.values()), NEWEST_ITEMS)))
    if issubclass(tp, ORDERED):
        return iter(list(itertools.islice(reversed(container), NEWEST_ITEMS)))
    if issubclass(tp, (set, frozenset)):
        return iter(list(itertools.islice(iter(container), NEWEST_ITEMS)))
    return iter(())  # bytearray (ints), an instance's attributes (of any type)


def _followed(item: Any) -> Any:
    """A weak reference's referent (None once it died); any other item as it is."""
    if issubclass(type(item), weakref.ref):
        return item()
    return item


def held_items(container: Any) -> tuple[str, int]:
    """(type name, mean sys.getsizeof) of the type most of the newest items have; ("", 0)
    when the container is empty, holds nothing typed, or changed size under us."""
    try:
        items = [_followed(item) for item in _newest(container)]
    except Exception:  # resized by another thread, or a subclass whose iteration raises
        return "", 0
    kinds = [type(item) for item in items if item is not None]
    if not kinds:
        return "", 0
    tp = max(dict.fromkeys(kinds), key=kinds.count)  # the most common; the newest on a tie
    sizes = [_size(item) for item in items if type(item) is tp]
    return type_name(tp), sum(sizes) // len(sizes)


def _size(item: Any) -> int:
    try:
        return int(sys.getsizeof(item, 0))
    except Exception:  # a proxy forwarding __sizeof__ to nothing: its header still counts
        return int(object.__sizeof__(item))
