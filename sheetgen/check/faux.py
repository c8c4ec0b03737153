"""Faux rows a learner left out: the rows that are there are checked, the missing ones named.

A network sheet may be built with faux rows for every weight and bias or for some
(``faux=``); a learner may also delete or clear the rows they do not want. A faux row counts
as left out when its label ("Faux gradient of 'w1_1_1':") is nowhere in the workbook: then it
is not placed nor judged (its cells would otherwise each be "empty, should be ..."), and the
report says which rows are missing. A row whose label is there is judged whole, as an
exercise's blanks are.
"""

from __future__ import annotations

from dataclasses import replace

from .. import a1
from ..layouts.layout import Layout
from ..workbook.book import Book

__all__ = ["without_missing_faux_rows"]


def without_missing_faux_rows(layout: Layout, book: Book) -> tuple[Layout, str | None]:
    """``layout`` without the faux rows whose label ``book`` lacks, and a sentence naming
    them (None, and the layout itself, when none is missing)."""
    if layout.settings.get("model") != "network":
        return layout, None
    row_of: dict[str, int] = {}  # parameter -> its faux row
    for spec in layout.cells:
        parts = (spec.quantity or "").split(".")
        if len(parts) == 3 and parts[0] == "nudge" and parts[1] == parts[2]:
            row_of[parts[1]] = a1.split(spec.at)[0]
    if not row_of:
        return layout, None
    label_of = {
        a1.split(c.at)[0]: c.text for c in layout.cells if c.kind == "text" and c.at[0] == "A"
    }
    texts = {
        cell.value.strip()
        for sheet in book.sheets
        for cell in sheet.cells.values()
        if isinstance(cell.value, str)
    }
    missing = [name for name, row in row_of.items() if (label_of.get(row) or "") not in texts]
    if not missing:
        return layout, None
    gone = {row_of[name] for name in missing}
    kept = tuple(c for c in layout.cells if a1.split(c.at)[0] not in gone)
    more = len(missing) - 10
    shown = ", ".join(missing[:10]) + (f" and {more} more" if more > 0 else "")
    one = len(missing) == 1
    note = (
        f"The faux-gradient row{'' if one else 's'} of {shown} {'is' if one else 'are'} not in "
        f"the sheet (left out or deleted), so {'it was' if one else 'they were'} not checked; "
        "the other faux rows were."
    )
    return replace(layout, cells=kept), note
