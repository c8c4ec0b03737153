"""Defined names that hold a number or a formula, put in place where formulas use them.

Excel's Name Manager keeps three kinds of name: a cell or range (``Tiny`` ->
``Neuron!$B$11``), a LAMBDA (called as a function), and a constant or formula (``Half`` ->
``0.5``, ``Err`` -> ``Neuron!$F$2-Neuron!$G$2``). A formula reading a name of the third kind
computes the name's formula where it stands, as if it were written there in brackets: so it is
handed to the engine that way (``=Err^2/2`` -> ``=(Neuron!$F$2-Neuron!$G$2)^2/2``), and the
cells the name reads become the formula's inputs, which the structure check then sees.

A name's relative references (``Neuron!E2`` without ``$``) are relative to the cell that uses
it: Excel keeps them relative to A1, and LibreOffice and Gnumeric read them so (checked here:
a name holding ``Sheet1!B1`` read in A3 is B3). Such a name, a range too, is put in place moved
by the using cell's distance from A1, round the sheet's edge as Excel writes one pointing left
or up (``Sheet1!XFD1`` is the cell to the left).

Only the engine's copy of the book is rewritten (:func:`expanded`): the learner's own text is
what the report shows. A book without such names is returned as it is, at no cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from .. import a1
from ..workbook.book import Book, Cell, Sheet, destination
from ..workbook.xlsx import shift
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
    """``book`` with every formula that reads a name holding a number or a formula, or a range
    with a relative part, given that formula or range in brackets instead (moved to the cell,
    where relative); ``book`` itself when it has no such name (a name holding text is left to
    the engine, which says it cannot read it: a learner's sum never needs one, and a whole
    sheet's formulas are not rewritten for a label)."""
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
                text = expand(cell.formula, at)
                if text != cell.formula:
                    cells[at] = Cell(cell.value, text, cell.array)
        sheets.append(Sheet(sheet.title, cells, sheet.names, sheet.notes))
    return _Expanded(tuple(sheets), book.names)


def _formula_names(names: Mapping[str, str]) -> dict[str, str]:
    """Of ``names``, those holding a number or a formula (not a LAMBDA) or a range read relative
    to the cell using it, by upper case, each with its text (no leading ``=``): an absolute
    range (``Tiny``) the engine resolves itself."""
    found = {}
    for name, text in names.items():
        body = text.strip().lstrip("=").strip()
        upper = name.upper()
        if not body or upper.startswith(_OWN):
            continue
        if destination(body) is not None and not _relative(body):
            continue
        if _TEXT.fullmatch(body):  # text (sheetgen's own SHEETGEN_LAYOUT): no sum reads it
            continue
        if functions_bare(body.upper()).startswith("LAMBDA("):
            continue
        found[upper] = body
    return found


def _relative(body: str) -> bool:
    """Whether ``body`` has a reference with a part not anchored by ``$`` (outside quotes)."""
    parts = _QUOTED.split(body)
    for k in range(0, len(parts), 2):
        for match in a1.REFERENCE.finditer(parts[k]):
            g = match.groups()  # (anchor, part) pairs; a pair of an unused branch is None
            if any(g[i + 1] is not None and not g[i] for i in range(0, len(g), 2)):
                return True
    return False


def _expander(names: Mapping[str, str]) -> Callable[[str, str], str]:
    """What puts ``names`` in place in the formula of the cell at an address."""
    relative = frozenset(name for name, body in names.items() if _relative(body))

    def expand(text: str, at: str) -> str:
        return _in_place(text, at, 0)

    def _in_place(text: str, at: str, depth: int) -> str:
        if depth >= _DEPTH:
            return text
        parts = _QUOTED.split(text)
        for k in range(0, len(parts), 2):  # outside quotes: the even parts
            parts[k] = _NAME.sub(lambda m: _replaced(m, at, depth), parts[k])
        return "".join(parts)

    def _replaced(match: re.Match[str], at: str, depth: int) -> str:
        upper = match.group(1).upper()
        body = names.get(upper)
        if body is None:
            return match.group(0)
        if upper in relative:  # kept relative to A1: moved to the cell using it
            row, column = a1.split(at)
            body = shift(body, row - 1, column - 1, wrap=True)
        return "(" + _in_place(body, at, depth + 1) + ")"

    return expand
