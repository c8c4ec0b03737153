"""What each formula of a layout reads, from its one description: the quantities its template
formula names (``{quantity}``) and the defined names it uses (``Tiny``).

What ``sheetgen.check.structure`` requires a learner's cell to depend on. Read from the
resolved formula where it says its template (``CellSpec.source`` None: each address names
the quantity of the cell there), else from the template's text.
"""

from __future__ import annotations

import itertools
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

from .layout import ADDRESSES, TEMPLATE_REF, CellSpec, Layout

__all__ = ["FormulaReads", "NamedReads", "addresses_read", "formula_reads"]


def _referenced(ref: str, quantity: str) -> str:
    """The quantity a template reference names in the formula of ``quantity``: ``{.net}`` is
    the cell's own row prefix (``nudge.bias.net`` in ``nudge.bias.loss``), ``{net}`` itself."""
    if not ref.startswith("."):
        return ref
    prefix = quantity.rsplit(".", 1)[0] + "." if "." in quantity else ""
    return prefix + ref[1:]


_NAME = re.compile(r"(?<![\w.$!'])([A-Za-z_][\w.]*)(?![\w(!])")


class FormulaReads(Mapping[str, tuple[str, ...]]):
    """For each formula cell's quantity, the quantities its template formula reads, in order.

    Held as numbers, one array for all: an 80-80-1 network's formulas read 2.2 million
    quantities, 23 MB as tuples of names and 9 MB as one array of 4-byte numbers; each
    formula's tuple is made when asked. A formula's reads are found by its quantity's own
    number (``number_of``, which :func:`formula_reads` needs anyway): a second map of the
    formulas' quantities to rows of the array was 7 MB more of an 80-80-1 network's.
    """

    def __init__(self, names: list[str], number_of: Mapping[str, int]) -> None:
        self._names = names  # what each number stands for
        self._number = number_of  # each quantity's number, formulas' and others'
        self._reads = array("i")  # every formula's reads, one after the other, by number
        self._starts = array("i", [0])  # number n's reads: _starts[n] to _starts[n + 1]
        self._formula = bytearray()  # 1 where number n is a formula's quantity
        self._count = 0

    def _add(self, number: int, numbers: Iterable[int]) -> None:
        """The reads of the formula whose quantity is ``number``: numbers rise from one call
        to the next (the layout's order), the quantities between read nothing."""
        gap = number - len(self._formula)
        if gap:
            self._starts.extend(itertools.repeat(len(self._reads), gap))
            self._formula.extend(bytes(gap))
        self._reads.extend(numbers)
        self._starts.append(len(self._reads))
        self._formula.append(1)
        self._count += 1

    def _numbers(self, quantity: object) -> array[int] | None:
        """The numbers ``quantity`` reads; None unless it is a formula's quantity."""
        row = self._number.get(quantity) if isinstance(quantity, str) else None
        if row is None or row >= len(self._formula) or not self._formula[row]:
            return None
        return self._reads[self._starts[row] : self._starts[row + 1]]

    def __getitem__(self, quantity: str) -> tuple[str, ...]:
        numbers = self._numbers(quantity)
        if numbers is None:
            raise KeyError(quantity)
        return tuple(map(self._names.__getitem__, numbers))

    def named(self, quantity: str) -> NamedReads:
        """What ``quantity`` reads, each name made when indexed: a walk that stops at its first
        read (a network's formulas each read a parameter's copy first) makes one, not 161."""
        numbers = self._numbers(quantity)
        if numbers is None:
            raise KeyError(quantity)
        return NamedReads(numbers, self._names)

    def __iter__(self) -> Iterator[str]:
        return itertools.compress(self._names, self._formula)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, quantity: object) -> bool:
        return self._numbers(quantity) is not None


class NamedReads:
    """One formula's reads as :meth:`FormulaReads.named` hands them: a length, and the name of
    each by its index."""

    __slots__ = ("_names", "_numbers")

    def __init__(self, numbers: array[int], names: list[str]) -> None:
        self._numbers, self._names = numbers, names

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: int) -> str:
        return self._names[self._numbers[index]]


def formula_reads(layout: Layout) -> FormulaReads:
    """For each formula cell's quantity, the quantities its template formula reads.

    From the one description of the layout: the ``{quantity}`` references of its formula and
    the defined names it uses (``Tiny``), each as the quantity of the cell it stands for. What
    ``sheetgen.check.structure`` requires a learner's cell to depend on.
    """
    names: list[str] = []
    number_at: dict[str, int] = {}  # each cell's address -> its quantity's number
    number_of: dict[str, int] = {}  # each quantity -> its number
    for c in layout.cells:
        if c.quantity is not None:
            number_at[c.at] = number_of[c.quantity] = len(names)
            names.append(c.quantity)

    def numbered(quantities: list[str]) -> list[int]:
        try:
            return list(map(number_of.__getitem__, quantities))
        except KeyError:  # a quantity not on the sheet (left out where a table was moved)
            for q in quantities:
                if q not in number_of:
                    number_of[q] = len(names)
                    names.append(q)
            return list(map(number_of.__getitem__, quantities))

    named = {name.upper(): number_at[at] for name, at in layout.names.items() if at in number_at}
    out = FormulaReads(names, number_of)
    names_in: dict[str, list[int]] = {}  # see _names_used
    split, intern, said = TEMPLATE_REF.split, sys.intern, ADDRESSES.split
    for c in layout.cells:
        if c.formula is None or c.quantity is None:
            continue
        if c.source is None:  # the formula says it: its addresses name the quantities read
            parts = said(c.formula)
            reads = list(map(number_at.__getitem__, parts[1::2]))
        else:
            parts = split(c.source)  # text, reference, text, ..., text: one pass in C
            refs = parts[1::2]
            if "{." in c.source:
                refs = [_referenced(ref, c.quantity) if ref[0] == "." else ref for ref in refs]
            # Interned: a network's quantities recur in hundreds of formulas each.
            reads = numbered(list(map(intern, refs)))
        if named:
            reads += _names_used(" ".join(parts[0::2]), named, names_in)
        out._add(number_of[c.quantity], dict.fromkeys(reads))
    return out


def addresses_read(layout: Layout) -> Callable[[CellSpec], list[str] | None]:
    """What :func:`formula_reads` finds a formula cell's template formula reads, as the
    addresses of those quantities, for a cell whose formula says its template (``source``
    None): the addresses it holds, then where each defined name of the layout it uses points;
    None for any other cell.

    One cell at a time, nothing kept per cell: a sheet whose cells read what their template
    formulas read is told so without every formula's reads numbered at once (16 MB for an
    80-80-1 network's).
    """
    targets = set(layout.names.values())
    held = {c.at for c in layout.cells if c.quantity is not None and c.at in targets}
    named = {name.upper(): at for name, at in layout.names.items() if at in held}
    names_in: dict[str, list[str]] = {}
    split = ADDRESSES.split

    def read(cell: CellSpec) -> list[str] | None:
        if cell.formula is None or cell.quantity is None or cell.source is not None:
            return None
        parts = split(cell.formula)
        addresses = parts[1::2]
        if named:
            addresses += _names_used(" ".join(parts[0::2]), named, names_in)
        return addresses

    return read


_Read = TypeVar("_Read", int, str)


def _names_used(
    bare: str, named: Mapping[str, _Read], found: dict[str, list[_Read]]
) -> list[_Read]:
    """What ``named`` (the layout's defined names, upper-case) gives each name that ``bare``,
    the text between a formula's references (``TEMPLATE_REF.sub(" ", source)``), uses.
    A formula's text is one of a few shapes (a 40-40-1 network's 23,000 formulas have 9): each
    shape's names are found once, into ``found``."""
    known = found.get(bare)
    if known is None:
        known = found[bare] = [
            named[m.group(1).upper()] for m in _NAME.finditer(bare) if m.group(1).upper() in named
        ]
    return known
