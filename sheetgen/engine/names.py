"""Defined names that hold a number or a formula, put in place where formulas use them.

Excel's Name Manager keeps three kinds of name: a cell or range (``Tiny`` ->
``Neuron!$B$11``), a LAMBDA (called as a function), and a constant or formula (``Half`` ->
``0.5``, ``Err`` -> ``Neuron!$F$2-Neuron!$G$2``). A formula reading a name of the third kind
computes the name's formula where it stands, as if it were written there in brackets: so it is
handed to the engine that way (``=Err^2/2`` -> ``=(Neuron!$F$2-Neuron!$G$2)^2/2``), and the
cells the name reads become the formula's inputs, which the structure check then sees.

Only the engine's copy of the book is rewritten (:func:`expanded`): the learner's own text is
what the report shows. A book without such names is returned as it is, at no cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ..workbook.book import Book, Cell, Sheet, destination
from .function_table import functions_bare

__all__ = ["expanded"]

# A name as Excel allows it: a letter, ``_`` or ``\`` first, then letters, digits, ``_``,
# ``.``, ``\`` and ``?``. Not one preceded by a character a name or reference continues
# (``Sheet1!Half`` is another sheet's name, ``$A$1`` a reference, ``#REF!`` an error), nor
# followed by ``(`` (a function or a LAMBDA called), ``!`` (a sheet) or ``[`` (a table).
_NAME = re.compile(r"(?<![\w.\\?!$#\]])([A-Za-z_\\][\w.\\?]*)(?![\w.\\?]|\s*[(!\[])")
# Text Excel never reads names in: string literals, quoted sheet names, and what a table's
# brackets hold (``Params[[#This Row],[Input]]``: its columns).
_QUOTED = re.compile(r"(\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|\[(?:[^\[\]]|\[[^\[\]]*\])*\])")
# Names Excel writes for itself: future functions (``_xlfn.XLOOKUP`` -> ``#NAME?``), LET's
# parameters, built-in names (``_xlnm.Print_Area``), Google Sheets' placeholders.
_OWN = ("_XLFN.", "_XLPM.", "_XLNM.", "_XLUDF.", "__XLUDF.")
_TEXT = re.compile(r'"(?:[^"]|"")*"')
_DEPTH = 16  # names using names: deeper than any sheet needs, and a cycle stops here


class _Expanded(Book):
    """A book whose names are in place already: a what-if evaluator's, made from its parent's."""


def expanded(book: Book) -> Book:
    """``book`` with every formula that reads a name holding a number or a formula given that
    formula in brackets instead; ``book`` itself when it has no such name (a name holding
    text is left to the engine, which says it cannot read it: a learner's sum never needs
    one, and a whole sheet's formulas are not rewritten for a label)."""
    if isinstance(book, _Expanded):
        return book
    shared = _formula_names(book.names)
    if not shared and not any(_formula_names(s.names) for s in book.sheets):
        return book
    sheets = []
    for sheet in book.sheets:
        names = {**shared, **_formula_names(sheet.names)}  # the sheet's own names first
        if not names:
            sheets.append(sheet)
            continue
        expand = _expander(names)
        cells: dict[str, Cell] = dict(sheet.cells)
        for at, cell in sheet.cells.items():
            if cell.formula is not None:
                text = expand(cell.formula, 0)
                if text != cell.formula:
                    cells[at] = Cell(cell.value, text, cell.array)
        sheets.append(Sheet(sheet.title, cells, sheet.names, sheet.notes))
    return _Expanded(tuple(sheets), book.names)


def _formula_names(names: Mapping[str, str]) -> dict[str, str]:
    """Of ``names``, those holding a number or a formula (not a range, not a LAMBDA), by upper
    case, each with its formula's text (no leading ``=``)."""
    found = {}
    for name, text in names.items():
        body = text.strip().lstrip("=").strip()
        upper = name.upper()
        if not body or upper.startswith(_OWN) or destination(body) is not None:
            continue
        if _TEXT.fullmatch(body):  # text (sheetgen's own SHEETGEN_LAYOUT): no sum reads it
            continue
        if functions_bare(body.upper()).startswith("LAMBDA("):
            continue
        found[upper] = body
    return found


def _expander(names: Mapping[str, str]) -> Callable[[str, int], str]:
    def expand(text: str, depth: int) -> str:
        if depth >= _DEPTH:
            return text
        parts = _QUOTED.split(text)
        for k in range(0, len(parts), 2):  # outside quotes: the even parts
            parts[k] = _NAME.sub(lambda m: _replaced(m, depth), parts[k])
        return "".join(parts)

    def _replaced(match: re.Match[str], depth: int) -> str:
        body = names.get(match.group(1).upper())
        if body is None:
            return match.group(0)
        return "(" + expand(body, depth + 1) + ")"

    return expand
