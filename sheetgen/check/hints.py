"""A wrong cell's hint (the formula the layout's note gives), and whether a sheet wants none.

A hand-out built without hints says so in its title cell's note (``NO_HINTS_NOTE``; notes
travel with their cells), so that feedback on it stays hint-free too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..layouts.layout import NO_HINTS_NOTE, CellSpec
from ..workbook.book import LazyNotes, Sheet

__all__ = ["hint_for", "noted_no_hints"]


def noted_no_hints(sheet: Sheet) -> bool:
    """Whether a note of the sheet says the hand-out was built without hints
    (``NO_HINTS_NOTE``, on the exercise's title cell: notes travel with their cells)."""
    if isinstance(sheet.notes, LazyNotes) and not sheet.notes.mentions(NO_HINTS_NOTE):
        return False
    return any(NO_HINTS_NOTE in note for note in sheet.notes.values())


def hint_for(spec: CellSpec, specs: Mapping[str, CellSpec]) -> str | None:
    """The cell's note, or (a network's later neurons, a training's later steps carry none,
    to keep the file light) the note of the same quantity elsewhere: ``step7.loss`` gets
    ``step1.loss``'s, ``global.n2_3.net`` gets ``global.n2_1.net``'s."""
    if spec.note or spec.quantity is None:
        return spec.note
    if _HINTS[0] is not specs:  # one table per report, built on its first note-less cell
        table: dict[str, str] = {}
        for other in specs.values():
            if other.note and other.quantity is not None:
                table.setdefault(_shape(other.quantity), other.note)
        _HINTS[:] = [specs, table]
    hints = _HINTS[1]
    assert isinstance(hints, dict)
    return hints.get(_shape(spec.quantity))


_DIGITS = re.compile(r"\d+")


def _shape(quantity: str) -> str:
    return _DIGITS.sub("#", quantity)


_HINTS: list[object] = [None, {}]
