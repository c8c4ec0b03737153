"""The learner's sheet as a grid: the table as it stands in their file, each checked cell with
its verdict.

Labels and parameters are shown as the file holds them; a checked cell shows the value sheetgen
computed from the learner's formula (what a spreadsheet application would show, even when the
file cached nothing). A grid larger than :data:`MAX_CELLS` is cut after its first rows (a
training run repeats its first step's formulas), and the page says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import a1
from ..check import show
from ..check.results import Report, addresses
from ..workbook.book import Sheet, Value

MAX_CELLS = 12_000
"""Cells drawn at most (the first rows of a longer grid)."""

MAX_COLUMNS = 1_000
"""Columns drawn at most (a training sheet is at most this wide)."""

KINDS: Mapping[str, tuple[str, str]] = {
    "right": ("\u2713", "right"),
    "root": ("\u2717", "wrong: fix this first"),
    "inherited": ("\u21b3", "wrong because of another cell"),
    "waiting": ("\u2026", "waiting for a blank"),
    "todo": ("\u270e", "to do"),
    "unchecked": ("?", "not checked"),
}
"""Each verdict's mark and words: colour is never the only sign of one."""

ORDER = ("root", "inherited", "todo", "waiting", "unchecked", "right")
"""How the page lists cells: what to fix first, then what follows from it, the rest last."""


def verdict_kind(status: str, causes: Sequence[str]) -> str:
    """The grid's verdict for a checked cell of the report (``--json``'s status and causes)."""
    if status == "ok":
        return "right"
    if status in ("todo", "waiting"):
        return status
    if status == "unchecked":
        return "unchecked"
    return "inherited" if causes else "root"


def sheet_grid(sheet: Sheet, report: Report, *, max_cells: int = MAX_CELLS) -> dict[str, Any]:
    """The grid of ``sheet`` (the one ``report`` judged) as plain JSON-able data.

    Its extent is every cell the file fills and every cell the report checks, from A1.
    """
    # Each checked cell's place among the verdicts: a verdict is made for the cells shown
    # only (``Verdicts`` holds a right one as numbers).
    checked = {at: i for i, at in enumerate(addresses(report.cells))}
    places = [a1.split(at) for at in (*sheet.cells, *checked) if a1.within(at)]
    if not places:
        return {"sheet": sheet.title, "columns": [], "rows": [], "cut": 0}
    last_row = max(r for r, _ in places)
    last_column = min(max(c for _, c in places), MAX_COLUMNS)
    rows_shown = max(1, min(last_row, max_cells // last_column))
    rows: list[dict[str, Any]] = []
    for r in range(1, rows_shown + 1):
        cells: list[dict[str, str]] = []
        for c in range(1, last_column + 1):
            at = a1.name(r, c)
            place = checked.get(at)
            if place is not None:
                result = report.cells[place]
                text = show.value(result.found, digits=6, empty="")
                kind = verdict_kind(result.status, result.causes)
            else:
                held = sheet.cells.get(at)
                text, kind = "", ""
                if held is not None:  # a formula the file cached no value for shows itself
                    text = (
                        held.formula if held.value is None and held.formula else _plain(held.value)
                    )
            cells.append({"at": at, "text": text, "kind": kind})
        rows.append({"row": r, "cells": cells})
    return {
        "sheet": sheet.title,
        "columns": [a1.column_letter(c) for c in range(1, last_column + 1)],
        "rows": rows,
        "cut": last_row - rows_shown,
    }


def _plain(v: Value) -> str:
    """A label as written (no quotes), a number with the report's digits."""
    if isinstance(v, str):
        return v
    return show.value(v, digits=6, empty="")
