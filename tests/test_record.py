"""memwarden.record behaves as `dataclass(frozen=True, slots=True)` does for the same class:
each check runs on a record and on the dataclass twin."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from memwarden.record import FrozenError, field, fields, mutable_record, record, replace


@record
class Reading:
    """A docstring kept."""

    pid: int
    rss_bytes: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def rss_mib(self) -> float | None:
        return None if self.rss_bytes is None else self.rss_bytes / 2**20


@dataclasses.dataclass(frozen=True, slots=True)
class Twin:
    pid: int
    rss_bytes: int | None = None
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)


@record
class One:
    pid: int


BOTH = pytest.mark.parametrize("kind", [Reading, Twin])


@BOTH
def test_init_defaults_and_a_fresh_factory_default(kind: Any) -> None:
    first, second = kind(1), kind(2, 3 * 2**20)
    assert (first.pid, first.rss_bytes, first.figures) == (1, None, {})
    assert second.rss_bytes == 3 * 2**20
    assert first.figures is not kind(1).figures
    with pytest.raises(TypeError):
        kind()
    with pytest.raises(TypeError):
        kind(1, unknown=2)


@BOTH
def test_equality_and_hash_by_fields(kind: Any) -> None:
    assert kind(1, 2) == kind(1, 2) and kind(1, 2) != kind(1, 3)
    assert kind(1, 2) != (1, 2, {})  # not equal to a tuple of the same values
    assert hash(kind(1, 2, ())) == hash(kind(1, 2, ()))
    assert len({kind(1, 2, ()), kind(1, 2, ()), kind(1, 3, ())}) == 2
    with pytest.raises(TypeError):
        hash(kind(1, 2))  # a dict field is unhashable, as in the dataclass


def test_repr_is_the_dataclass_repr() -> None:
    assert repr(Reading(1, 2, {"a": 1})) == repr(Twin(1, 2, {"a": 1})).replace("Twin", "Reading")
    assert repr(One(7)) == "One(pid=7)"


@BOTH
def test_fields_cannot_be_assigned_or_deleted(kind: Any) -> None:
    reading = kind(1)
    with pytest.raises(AttributeError):
        reading.pid = 2
    with pytest.raises(AttributeError):
        del reading.pid
    with pytest.raises((AttributeError, TypeError)):
        reading.other = 1  # no __dict__
    assert not hasattr(reading, "__dict__")


def test_frozen_error_names_the_field() -> None:
    with pytest.raises(FrozenError, match="cannot assign to field 'pid'"):
        Reading(1).pid = 2  # type: ignore[misc]


@BOTH
def test_replace_copy_and_pickle(kind: Any) -> None:
    reading = kind(1, 2, {"a": [1]})
    changer = replace if kind is Reading else dataclasses.replace
    assert changer(reading, rss_bytes=5) == kind(1, 5, {"a": [1]})
    assert copy.copy(reading) == reading and copy.deepcopy(reading) == reading
    assert copy.deepcopy(reading).figures["a"] is not reading.figures["a"]
    assert pickle.loads(pickle.dumps(reading)) == reading


def test_class_shape() -> None:
    assert Reading.__slots__ == Reading.__match_args__ == fields(Reading) == (
        "pid", "rss_bytes", "figures") == tuple(f.name for f in dataclasses.fields(Twin))
    assert Reading.__doc__ == "A docstring kept."
    assert Reading.__qualname__ == "Reading" and Reading.__module__ == __name__
    assert Reading(1, 3 * 2**20).rss_mib == 3.0
    assert fields(One) == ("pid",) and One(1) == One(1) and hash(One(1)) == hash(One(1))
    match Reading(4, 5):
        case Reading(pid, rss):
            assert (pid, rss) == (4, 5)


def test_a_record_cannot_extend_a_record() -> None:
    with pytest.raises(TypeError, match="cannot extend a record"):
        @record
        class Child(One):
            extra: int = 0


@mutable_record
class Bucket:
    start_s: float
    values: list[float] = field(default_factory=list)


@dataclasses.dataclass(slots=True)
class BucketTwin:
    start_s: float
    values: list[float] = dataclasses.field(default_factory=list)


@pytest.mark.parametrize("kind", [Bucket, BucketTwin])
def test_a_mutable_record_is_assignable_and_unhashable(kind: Any) -> None:
    bucket = kind(1.0)
    bucket.start_s = 2.0
    bucket.values.append(3.0)
    assert bucket == kind(2.0, [3.0]) and bucket.values is not kind(1.0).values
    with pytest.raises(TypeError):
        hash(bucket)
    with pytest.raises(AttributeError):
        bucket.other = 1
    assert copy.deepcopy(bucket) == bucket and pickle.loads(pickle.dumps(bucket)) == bucket
    assert repr(Bucket(1.0)) == "Bucket(start_s=1.0, values=[])"
