"""Fixtures for the lossless primitives: an owned cgroup, skipped with a reason without one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from lossless_helpers import MIB

from memwarden.supervisor import cgroupctl


@pytest.fixture
def owned_group() -> Iterator[cgroupctl.OwnedCgroup]:
    try:
        group = cgroupctl.OwnedCgroup.create(f"test{os.getpid()}", 160 * MIB)
    except cgroupctl.CgroupUnavailable as err:
        pytest.skip(f"cannot own a memory cgroup here: {err}")
    yield group
    group.destroy()
