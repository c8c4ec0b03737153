"""The values an evaluator computed, by cell: a mapping keyed by ``(sheet, address)`` that holds
them by sheet, then by address.

A dict keyed by tuples keeps, per cell, a tuple of 56 bytes and a slot of three words; a dict
per sheet keyed by the address strings the book already holds keeps a slot of two words and no
tuple (a training run's 140,000 cells: 3.8 MB, not 5.2 MB and 7.8 MB of tuples), and looks a
cell up by a string whose hash is kept, not a tuple's, computed at each lookup. The evaluator
reads and writes the sheets' dicts (:attr:`Values.sheets`) itself; anyone else reads cells by
reference, as from a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, overload

from ..workbook.book import Value
from .plan import Ref

__all__ = ["Values"]


class Values(MutableMapping[Ref, Value]):
    """Each computed cell's value by ``(sheet, address)``, held per sheet by address; its
    iteration order is that of the sheets' first values, then of each sheet's own."""

    __slots__ = ("sheets",)

    def __init__(self, values: Mapping[Ref, Value] | None = None) -> None:
        # Sheet (as a reference names it) -> address -> value.
        self.sheets: dict[str, dict[str, Value]] = {}
        if values:
            self.update(values)

    def on(self, sheet: str) -> dict[str, Value]:
        """The values of sheet ``sheet``'s cells by address (made empty on first asking)."""
        found = self.sheets.get(sheet)
        if found is None:
            found = self.sheets[sheet] = {}
        return found

    def __getitem__(self, ref: Ref) -> Value:
        try:
            return self.sheets[ref[0]][ref[1]]
        except KeyError:
            raise KeyError(ref) from None

    def __contains__(self, ref: object) -> bool:
        if type(ref) is not tuple or len(ref) != 2:
            return False
        found = self.sheets.get(ref[0])
        return found is not None and ref[1] in found

    @overload
    def get(self, ref: Ref, /) -> Value | None: ...
    @overload
    def get(self, ref: Ref, default: Any, /) -> Any: ...
    def get(self, ref: Ref, default: Any = None) -> Any:
        found = self.sheets.get(ref[0])
        return default if found is None else found.get(ref[1], default)

    def __setitem__(self, ref: Ref, value: Value) -> None:
        self.on(ref[0])[ref[1]] = value

    def __delitem__(self, ref: Ref) -> None:
        try:
            del self.sheets[ref[0]][ref[1]]
        except KeyError:
            raise KeyError(ref) from None

    def __iter__(self) -> Iterator[Ref]:
        for sheet, found in self.sheets.items():
            for at in found:
                yield (sheet, at)

    def __len__(self) -> int:
        return sum(map(len, self.sheets.values()))

    def update(self, other: Any = (), /, **more: Value) -> None:
        """As a dict's ``update``: each run of one sheet's cells into that sheet's dict."""
        pairs: Iterable[tuple[Ref, Value]] = other.items() if isinstance(other, Mapping) else other
        sheet, found = None, None
        for ref, value in pairs:
            if ref[0] != sheet or found is None:
                sheet, found = ref[0], self.on(ref[0])
            found[ref[1]] = value
        if more:
            raise TypeError("Values are keyed by (sheet, address), not by keyword")

    # A dict's own ways beyond a mapping's, for a script that held ``Evaluator.values`` as
    # the dict it was: a copy, and ``|`` (each a mapping keyed alike).
    def copy(self) -> Values:
        """A shallow copy, as a dict's ``copy``."""
        new = Values()
        new.sheets = {sheet: dict(found) for sheet, found in self.sheets.items()}
        return new

    def __or__(self, other: object) -> Values:
        if not isinstance(other, Mapping):
            return NotImplemented
        new = self.copy()
        new.update(other)
        return new

    def __ror__(self, other: object) -> dict[Ref, Value]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**other, **self}

    def __ior__(self, other: object) -> Values:
        if not isinstance(other, Mapping):
            return NotImplemented
        self.update(other)
        return self

    def __repr__(self) -> str:
        return f"Values({dict(self.items())!r})"
