"""Slotted value classes for what `memwarden.start()`, its leak watch and the lean supervisor load.

`@record` makes what `@dataclass(frozen=True, slots=True)` makes (an `__init__` with the
defaults, `__repr__`, `__eq__`, `__hash__`, `__match_args__`, `__slots__`, assignment
refused) and `replace()` is `dataclasses.replace`. Why not dataclasses there: importing it
costs a fresh interpreter ~1.9 MiB and ~17 ms (inspect, ast, dis, tokenize), and each frozen
class it makes ~1 ms (several `exec` calls); the sampling path has two dozen such classes,
a third of start()'s time. A record is one `exec` (its __init__) and shared methods.

`@mutable_record` is `@dataclass(slots=True)`: fields can be assigned, no hash. Supported: own
fields (no record base classes), plain defaults, `field(default_factory=fn)` for a mutable
default. Annotations are only names here (`from __future__ import annotations`).
"""

from __future__ import annotations

# Not `from typing import ...` at run time: typing costs ~1.6 MiB.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:
    def dataclass_transform(**_options: object) -> object:
        return lambda decorated: decorated


class FrozenError(AttributeError):
    """A record's field was assigned (like dataclasses.FrozenInstanceError)."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A default made anew for each record: `figures: dict = field(default_factory=dict)`."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    same: bool = self.__record_key__(self) == other.__record_key__(other)
    return same


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


def _setattr(self: Any, name: str, value: object) -> None:
    raise FrozenError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise FrozenError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> tuple[Any, ...]:
    key: tuple[Any, ...] = self.__record_key__(self)
    return key


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    for name, value in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, name, value)


_SHARED_MUTABLE = {"__repr__": _repr, "__eq__": _eq, "__hash__": None,
                   "__getstate__": _getstate, "__setstate__": _setstate}
_SHARED = {**_SHARED_MUTABLE, "__hash__": _hash, "__setattr__": _setattr,
           "__delattr__": _delattr}


def _key(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields' values as a tuple, in C (attrgetter gives a bare value for one name)."""
    if len(names) > 1:
        from operator import attrgetter

        return attrgetter(*names)
    return lambda instance: tuple(getattr(instance, name) for name in names)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """The decorator: the class again, with __slots__ and the methods above. Only __init__
    is generated (one `exec`); the others are shared and read `__record_fields__`."""
    return _make(cls, frozen=True)


@dataclass_transform(field_specifiers=(field,))
def mutable_record(cls: type[T]) -> type[T]:
    """A record whose fields can be assigned, and so unhashable: `dataclass(slots=True)`."""
    return _make(cls, frozen=False)


def _make(cls: type[T], *, frozen: bool) -> type[T]:
    if any(hasattr(base, "__record_fields__") for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: a record cannot extend a record")
    # Its own annotations (not inspect.get_annotations: inspect is what this avoids).
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063
    namespace: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": _Factory}
    params, lines = [], []
    for name in names:
        default = cls.__dict__.get(name, _Factory)
        if default is _Factory:  # no default
            params.append(name)
            lines.append(f" _set(self, {name!r}, {name})")
        elif isinstance(default, _Factory):
            namespace[f"_make_{name}"] = default.make
            params.append(f"{name}=_MISSING")
            lines.append(f" _set(self, {name!r}, _make_{name}() if {name} is _MISSING "
                         f"else {name})")
        else:
            namespace[f"_default_{name}"] = default
            params.append(f"{name}=_default_{name}")
            lines.append(f" _set(self, {name!r}, {name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(lines) or " pass")
    exec(source, namespace)
    body = {key: value for key, value in cls.__dict__.items()
            if key not in names and key not in ("__dict__", "__weakref__")}
    body.update(_SHARED if frozen else _SHARED_MUTABLE, __init__=namespace["__init__"],
                __slots__=names, __match_args__=names, __record_fields__=names,
                __record_key__=staticmethod(_key(names)))
    made: type[T] = type(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    made.__init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return made


def replace(instance: T, **changes: Any) -> T:
    """A copy with some fields changed (dataclasses.replace for records)."""
    cls = type(instance)
    # The values come from the key's attrgetter, in C: samplers call this once a sample.
    values = dict(zip(cls.__record_fields__, cls.__record_key__(instance),  # type: ignore[attr-defined]
                      strict=True))
    values.update(changes)
    return cls(**values)


def fields(cls: type[Any]) -> tuple[str, ...]:
    """The field names of a record class, in order."""
    names: tuple[str, ...] = cls.__record_fields__
    return names
