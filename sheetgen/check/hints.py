"""The hint under a wrong cell: its note from the layout, or the note of its twin renamed;
and whether a sheet wants none.

A hand-out built without hints says so in its title cell's note (``NO_HINTS_NOTE``; notes
travel with their cells), so that feedback on it stays hint-free too.

A network's later neurons and a training's later steps carry no note (thousands of comments
make a file slow to write and open), so a note-less cell borrows the note of the same quantity
elsewhere, the nearest one above it: ``step7.loss`` gets ``step2.loss``'s ("the previous
step's"), ``global.n2_3.net`` gets ``global.n2_1.net``'s, and a faux row gets the first faux
row's, with every name of the twin's quantity renamed to the cell's own: the row of ``b2_1``
says "Faux d loss / d b2_1", never the first row's ``w1_1_1``. A note that names something
else (``Input 1: x1.`` for the first neuron's first input) is not borrowed by another neuron
or input: no hint is better than a wrong one.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping

from ..layouts.layout import NO_HINTS_NOTE, CellSpec
from ..workbook.book import LazyNotes, Sheet

__all__ = ["hint", "noted_no_hints"]

_DIGITS = re.compile(r"\d+")
_PARAMETER = re.compile(r"\b[wb]\d+(?:_\d+)+\b")
_STEP = re.compile(r"step\d+")
# What a note may name: a weight, bias or neuron, an input, a target, a layer, a step.
_NAMES = re.compile(
    r"\b(?:[wbn]\d+(?:_\d+)+|x\d+|(?:target|input|layer|step) ?\d+)\b", re.IGNORECASE
)


def noted_no_hints(sheet: Sheet) -> bool:
    """Whether a note of the sheet says the hand-out was built without hints
    (``NO_HINTS_NOTE``, on the exercise's title cell: notes travel with their cells)."""
    if isinstance(sheet.notes, LazyNotes) and not sheet.notes.mentions(NO_HINTS_NOTE):
        return False
    return any(NO_HINTS_NOTE in note for note in sheet.notes.values())


Twins = dict[str, list[tuple[int, str, str]]]  # shape -> (position, quantity, note), in order


def hint(spec: CellSpec, specs: Mapping[str, CellSpec]) -> str | None:
    """The cell's note, or its twin's renamed (see the module docstring); None if neither."""
    if spec.note or spec.quantity is None:
        return spec.note
    if not _LAST or _LAST[0][0] is not specs:  # one table per report, on its first use
        _LAST[:] = [(specs, *_twins(specs))]
    _, twins, position = _LAST[0]
    for shape in (_shape(spec.quantity), _kind(spec.quantity)):
        found = twins.get(shape)
        if found:  # in the layout's order: the last one above, else the first (the one)
            here = position.of(spec.quantity) if len(found) > 1 else 0
            above = bisect.bisect_left(found, here, key=_position)
            _, twin, note = found[above - 1] if above else found[0]
            return _renamed(note, twin, spec.quantity)
    return None


def _twins(specs: Mapping[str, CellSpec]) -> tuple[Twins, _Positions]:
    twins: Twins = {}
    for i, other in enumerate(specs.values()):
        if other.quantity is not None and other.note:
            entry = (i, other.quantity, other.note)
            twins.setdefault(_shape(other.quantity), []).append(entry)
            kind = _kind(other.quantity)
            if kind != _shape(other.quantity):
                twins.setdefault(kind, []).append(entry)
    return twins, _Positions(specs)


class _Positions:
    """Each quantity's position among a layout's cells (the last cell of that quantity's; 0
    for none), found by a pass over the cells for each of the first ``SCANS`` quantities asked
    about, then by an index of every quantity: a sheet with a root cause or two never has
    the index made (a 10,000-step training run's was 7.7 MB at the peak of its verify)."""

    SCANS = 16

    def __init__(self, specs: Mapping[str, CellSpec]) -> None:
        self._specs = specs
        self._scans = 0
        self._index: dict[str, int] | None = None

    def of(self, quantity: str) -> int:
        if self._index is None and self._scans < self.SCANS:
            self._scans += 1
            found = 0
            for i, other in enumerate(self._specs.values()):
                if other.quantity == quantity:
                    found = i
            return found
        if self._index is None:
            self._index = {
                other.quantity: i
                for i, other in enumerate(self._specs.values())
                if other.quantity is not None
            }
        return self._index.get(quantity, 0)


def _renamed(note: str, twin: str, quantity: str) -> str | None:
    """``note`` of ``twin`` said of ``quantity``, or None when it names something the renaming
    cannot carry over (only another step's note may: every step has the same structure)."""
    theirs, ours = twin.split("."), quantity.split(".")
    own = {t.lower() for t in theirs}
    differ = [(a, b) for a, b in zip(theirs, ours, strict=False) if a != b]
    if any(not _STEP.fullmatch(a) for a, _ in differ):
        foreign = _named_in(note) - own
        if foreign:
            return None
    for a, b in differ:
        note = re.sub(rf"\b{re.escape(a)}\b", b, note)
    return note


@functools.lru_cache(maxsize=256)
def _named_in(note: str) -> frozenset[str]:
    """The names a note says (``_NAMES``), as compared: a layout has a few notes, each
    borrowed by thousands of cells."""
    return frozenset(m.replace(" ", "").lower() for m in _NAMES.findall(note))


def _position(twin: tuple[int, str, str]) -> int:
    return twin[0]


def _shape(quantity: str) -> str:
    """The quantity with its numbers left out: the same step of another neuron or step."""
    return _DIGITS.sub("#", quantity)


def _kind(quantity: str) -> str:
    """The quantity with its parameters left out: the same step for a weight or a bias (a faux
    row of a bias borrows the first faux row's note, a weight's)."""
    return _DIGITS.sub("#", _PARAMETER.sub("P", quantity))


_LAST: list[tuple[Mapping[str, CellSpec], Twins, _Positions]] = []
