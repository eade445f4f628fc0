"""The objects a culprit is traced back from are the newest of the growing type."""

from __future__ import annotations


class _Handler:
    pass


def test_newest_instances_are_the_youngest_even_in_the_oldest_generation() -> None:
    import gc

    from memwarden.leak.culprit import newest_instances
    from memwarden.leak.typecount import type_name

    old = _Handler()  # a long-lived instance (a root logger's own handler)
    gc.collect()
    new = [_Handler() for _ in range(20)]
    gc.collect()  # all of them in the oldest generation now
    found = newest_instances(type_name(_Handler), limit=8)
    assert len(found) == 8
    assert all(any(f is n for n in new) for f in found) and not any(f is old for f in found)
