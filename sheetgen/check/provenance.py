"""Where a verdict's numbers come from, said in words: the values the learner's application
saved (standing in for what sheetgen cannot compute, or stale beside what it computes), and the
array formula that computes a cell of its range.

``sheetgen.check.diagnose`` calls these on every judged cell; each adds to a cell's
explanation, or gives the report one warning, and never changes a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..engine.evaluate import Evaluator, Value
from ..errors import shown
from ..maths.neuron import kind_of
from ..workbook.book import Sheet
from . import show
from .judge import numeric_text
from .results import CellResult, Verdicts

__all__ = ["from_saved", "in_array", "stale_cache_warning"]


def in_array(c: CellResult, ev: Evaluator, sheet: str) -> CellResult:
    """Name the array formula that computes a cell of its range (its top-left cell)."""
    ref = (sheet, c.cell)
    where = None if c.formula is None else ev.array_range(ref)
    if not where:
        return c
    anchor = ev.array_anchor(ref)
    if anchor is not None:
        note = f"Computed by the array formula in {anchor} ({c.formula}, filling {where})."
    elif c.ok:
        return c
    else:
        note = f"Its array formula fills {where}."
    return replace(c, explanation=" ".join(p for p in (note, c.explanation) if p))


def from_saved(c: CellResult, ev: Evaluator, sheet: str) -> CellResult:
    """Say, on a verdict that rests on values the file saved or on no value at all (or on a
    reference that cannot tell right from wrong there), why."""
    if c.checked and not c.saved:
        return c
    ref = (sheet, c.cell)
    problem = ev.problems.get(ref)
    if c.uncheckable:  # its message says why
        note = "Not checked with these parameters: it is not counted as wrong, nor scored."
    elif not c.checked:
        why = f" ({c.cell} {problem.message})" if problem is not None else ""
        note = (
            f"Not checked: sheetgen cannot compute this formula{why}, and the file saved no "
            "number for it (open and save the workbook in the application that wrote it to "
            "keep one). It is not counted as wrong; review it by hand."
        )
    elif c.saved == (c.cell,):
        why = f": {c.cell} {problem.message}" if problem is not None else ""
        note = f"Checked from the value your application saved (sheetgen cannot compute it{why})."
    else:
        names = ", ".join(c.saved)
        note = (
            f"Checked from the value your application saved for {names} (sheetgen cannot "
            "compute it there)."
        )
    return replace(c, explanation=" ".join(p for p in (note, c.explanation) if p))


def stale_cache_warning(path: Path, sheet: Sheet, cells: Sequence[CellResult]) -> str | None:
    """A warning when the values the file saved disagree with what the formulas compute.

    The saved values are the ones read with the formulas (``Cell.value`` of a formula cell);
    a file openpyxl wrote saves none, and gets no warning.
    """
    differ = []
    verdicts = Verdicts.of(cells)
    for i, laid, held in verdicts.entries():
        if isinstance(held, CellResult):
            c = held
            if c.formula is None or c.status in _UNCOMPUTED:
                continue
            at, quantity = c.cell, c.quantity
        else:  # a right verdict held as numbers: a formula's, computed
            assert laid is not None and laid.quantity is not None
            at, quantity = laid.at, laid.quantity
        saved = sheet.cells.get(at)
        if saved is None or saved.value is None:
            continue
        found = c.found if isinstance(held, CellResult) else verdicts.found_at(i)
        if saved.value != found and not _same(saved.value, found, quantity):  # most: ==
            differ.append(f"{at} saved {show.value(saved.value)}, computes {show.value(found)}")
    if not differ:
        return None
    listed = "; ".join(differ[:5]) + ("; ..." if len(differ) > 5 else "")
    showing = "1 cell shows" if len(differ) == 1 else f"{len(differ)} cells show"
    return (
        f"Warning: the values saved in {shown(path)} are stale: {showing} other "
        f"numbers than their formulas compute ({listed}). The verdicts above use the formulas; "
        "recalculate and save the file so that it shows them too."
    )


_UNCOMPUTED = ("unsupported", "uncomputed", "unchecked")


def _same(value: Value, computed: Value, quantity: str) -> bool:
    if isinstance(value, str) and isinstance(computed, float):
        # A formula copying numeric text saves that text ('0.5') and was judged as the number
        # Excel computes with: the same value, shown as the application shows it.
        number = numeric_text(value)
        value = value if number is None else number
    if isinstance(value, float) and isinstance(computed, float):
        if isinstance(computed, bool):
            return False
        scale = max(abs(value), abs(computed))
        # Another engine rounds differently; a faux gradient magnifies that by 1/Tiny.
        rel = 1e-6 if kind_of(quantity) == "faux" else 1e-9
        return abs(value - computed) <= rel * scale + 1e-12
    return value == computed
