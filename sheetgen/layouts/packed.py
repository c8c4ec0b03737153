"""Frozen records of the hundred thousand: a dataclass's fields, the rarely set ones in one tuple.

A large sheet has a layout cell (``CellSpec``) and a verdict (``CellResult``) per cell, 100,000
of each. As slotted dataclasses each field is a slot, 8 bytes a cell, although most cells leave
most fields at the same values (no note, no style; a right verdict has no message, explanation
or causes). :class:`Packed` keeps the fields every cell sets in slots of their own and the others
in one tuple, which cells alike share (one object for all of them): each record is about half
the size.

To its users the class is still the dataclass it was: :func:`dataclasses.fields`,
:func:`dataclasses.replace` and :func:`dataclasses.asdict` work on it (:func:`described_fields`
gives it the dataclass's field descriptions), it compares, hashes and prints as the frozen
dataclass does, refuses assignment with :class:`dataclasses.FrozenInstanceError`, and pickles as
its fields in order.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = ["Packed", "described_fields"]


class Packed:
    """A frozen record whose fields are :attr:`FIELDS`, in order (see the module docstring).

    A subclass gives its ``__slots__`` (the fields of their own, then ``_rest``), properties for
    the fields in ``_rest`` and an ``__init__`` taking every field; ``__dataclass_fields__`` is
    :func:`described_fields`'s.
    """

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        values = operator.attrgetter(*cls.FIELDS)  # two or more: a tuple
        cls._values = lambda self: values(self)  # type: ignore[method-assign]

    def _values(self) -> tuple[Any, ...]:
        """Every field's value, in order (one C call, made per class)."""
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Packed], tuple[Any, ...]]:
        """Pickled (and copied) as its fields in order, made again by ``__init__``."""
        return (self.__class__, self._values())


def described_fields(
    name: str, annotations: Mapping[str, str], defaults: Mapping[str, Any]
) -> dict[str, dataclasses.Field[Any]]:
    """The ``__dataclass_fields__`` of a frozen dataclass called ``name`` with these fields (in
    order, as annotated) and defaults: what :func:`dataclasses.fields` and ``replace`` read."""
    spec = [
        (field, kind) if field not in defaults else (field, kind, dataclasses.field(default=d))
        for field, kind in annotations.items()
        for d in [defaults.get(field)]
    ]
    made = dataclasses.make_dataclass(name, spec, frozen=True)
    return {f.name: f for f in dataclasses.fields(made)}
