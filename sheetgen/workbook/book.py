"""A workbook as the verifier sees it: per sheet, each cell's formula and value. Nothing else.

``verify`` needs far less than openpyxl's object model (styles, comments, views, drawings):
which sheets there are, what each cell holds, and the defined names. :class:`Book` is that
and no more, read-only. ``sheetgen.workbook.xlsx`` fills it straight from a file's XML;
:meth:`Book.of` also takes an openpyxl ``Workbook``, so a teacher's script (or a test) that
already holds one can hand it to :class:`sheetgen.engine.evaluate.Evaluator` or
:func:`sheetgen.check.verify.check` as is.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import a1
from ..layouts.packed import Packed, described_fields


@dataclass(frozen=True)
class CellError:
    """An Excel error value such as ``#DIV/0!``, as a cell holds or a formula returns."""

    code: str

    def __str__(self) -> str:
        return self.code


Value = float | str | bool | CellError | None
"""What a cell holds or evaluates to: a number, text, a boolean, an Excel error, or None (empty)."""


class Cell(Packed):
    """One cell: its formula (``"=B2*C2"``) if it has one, and its value.

    For a formula cell ``value`` is the value the file saved beside the formula (its cache,
    which may be stale or missing: ``verify`` never trusts it, only compares). Numbers are
    floats whatever their number format: a date-formatted 0.4 is still 0.4 to Excel's formulas.
    Text that merely starts with ``=`` is text (``formula`` None): Excel does not compute it.

    ``array``: on the top-left cell of an array formula, the range it fills (``"K6:K10"``):
    Excel 365's spill (``<f t="array" ref=... >`` with ``cm``), a legacy Ctrl+Shift+Enter
    array, openpyxl's ``ArrayFormula``, LibreOffice's matrix in .xlsx or .ods. The other cells
    of the range hold only the values the application saved, or nothing.

    A book holds one per cell (a training run's 140,000), and almost none is an array's: a
    cell keeps ``value`` and ``formula`` in slots, 48 bytes, and the top-left cell of an array
    is made a :class:`ArrayCell` with a slot for ``array`` (a third slot on every cell made
    each 64 bytes as memory is handed out, 2.2 MB of such a run's book). Either is the frozen
    dataclass ``Cell(value, formula, array)`` to its users (:mod:`sheetgen.layouts.packed`):
    made, compared, hashed, printed, copied and pickled as such.
    """

    __slots__ = ("formula", "value")
    FIELDS = ("value", "formula", "array")
    __match_args__ = ("value", "formula", "array")

    value: Value
    formula: str | None
    array: str | None = None

    def __new__(
        cls, value: Value = None, formula: str | None = None, array: str | None = None
    ) -> Cell:
        if array is not None:
            return ArrayCell.made(value, formula, array)
        cell = _new(Cell)
        _set_value(cell, value)
        _set_formula(cell, formula)
        return cell

    def __repr__(self) -> str:
        return f"Cell(value={self.value!r}, formula={self.formula!r}, array={self.array!r})"


class ArrayCell(Cell):
    """The top-left cell of an array formula: a :class:`Cell` with ``array`` set (made by
    ``Cell(value, formula, array)``, never by name)."""

    __slots__ = ("array",)

    @classmethod
    def made(cls, value: Value, formula: str | None, array: str) -> ArrayCell:
        """The cell (what ``Cell(value, formula, array)`` gives)."""
        cell = _new(ArrayCell)
        _set_value(cell, value)
        _set_formula(cell, formula)
        _set_array(cell, array)
        return cell


_new = object.__new__
# Each slot's own setter, past the refusal of ``__setattr__`` (frozen), in one C call.
_set_value = vars(Cell)["value"].__set__
_set_formula = vars(Cell)["formula"].__set__
_set_array = vars(ArrayCell)["array"].__set__
Cell.__dataclass_fields__ = described_fields(
    "Cell",
    {"value": "Value", "formula": "str | None", "array": "str | None"},
    {"value": None, "formula": None, "array": None},
)


class LazyNotes(Mapping[str, str]):
    """Cell notes by coordinate, parsed from their XML (``parse``) the first time they are
    looked at: parsing costs as much as a fifth of reading a small workbook, and only an
    exercise that lost its record of blanks needs them. :meth:`mentions` answers without
    parsing."""

    def __init__(self, parts: Sequence[bytes], parse: Callable[[bytes], dict[str, str]]) -> None:
        self._parts = tuple(parts)
        self._parse = parse
        self._notes: dict[str, str] | None = None

    def mentions(self, text: str) -> bool:
        """Whether ``text`` occurs in the notes' XML as written: False means no note holds it
        (a note whose text is split across formatting runs may hold it and still say False
        only where the split falls inside ``text``)."""
        wanted = text.encode()
        return any(wanted in part for part in self._parts)

    def _all(self) -> dict[str, str]:
        if self._notes is None:
            notes: dict[str, str] = {}
            for part in self._parts:
                notes.update(self._parse(part))
            self._notes = notes
        return self._notes

    def __getitem__(self, key: str) -> str:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@dataclass(frozen=True)
class Sheet:
    """A worksheet's title, its cells by upper-case coordinate, and its own defined names."""

    title: str
    cells: Mapping[str, Cell]
    names: Mapping[str, str] = field(default_factory=dict)
    """Names scoped to this sheet (``localSheetId``), as written: name -> ``Sheet!$B$1``."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """Each cell's note (comment) text by coordinate (a :class:`LazyNotes` from the reader):
    an exercise's "To do" marks survive applications that drop its defined names."""

    def value(self, at: str) -> Value:
        cell = self.cells.get(at)
        return None if cell is None else cell.value

    def name(self, name: str) -> str | None:
        """A name scoped to this sheet; Excel compares names without case."""
        return _named(self.names, name)


@dataclass(frozen=True)
class Book:
    """The worksheets (in the workbook's order, chart sheets left out) and workbook-level names."""

    sheets: tuple[Sheet, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    """Workbook-level defined names as written: ``Tiny`` -> ``'Neuron'!$B$11``."""

    def sheet(self, title: str) -> Sheet | None:
        """The sheet called ``title``; Excel compares sheet names without case."""
        wanted = title.upper()
        return next((s for s in self.sheets if s.title.upper() == wanted), None)

    def name(self, name: str) -> str | None:
        """A workbook-level defined name's text; Excel compares names without case."""
        return _named(self.names, name)

    @classmethod
    def of(cls, workbook: Book | Any) -> Book:
        """``workbook`` itself, or a :class:`Book` of an openpyxl ``Workbook``."""
        if isinstance(workbook, Book):
            return workbook
        return _from_openpyxl(workbook)


def _named(names: Mapping[str, str], name: str) -> str | None:
    wanted = name.upper()
    return next((t for n, t in names.items() if n.upper() == wanted), None)


TEXT_LIMIT = 255
"""The most characters Excel allows in one text constant of a formula or defined name."""

_TEXT_PIECE = r'"(?:[^"]|"")*"'
_TEXT_FORMULA = re.compile(rf"^{_TEXT_PIECE}(?:\s*&\s*{_TEXT_PIECE})*$")


def text_formula(text: str) -> str:
    """A formula for ``text`` that Excel accepts: ``"..."``, or pieces of at most
    ``TEXT_LIMIT`` characters joined by ``&`` when ``text`` is longer (Excel refuses a longer
    constant, and Apache POI a name holding one)."""
    pieces = [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)] or [""]
    return "&".join('"' + piece.replace('"', '""') + '"' for piece in pieces)


def text_constant(text: str | None) -> str | None:
    """The string a defined name holds, written as ``"..."`` or as ``"..."&"..."`` (as
    :func:`text_formula` writes a long one); None for anything else."""
    if not isinstance(text, str) or not _TEXT_FORMULA.match(text.strip()):
        return None
    return "".join(p[1:-1].replace('""', '"') for p in re.findall(_TEXT_PIECE, text))


def destination(text: str) -> tuple[str, str] | None:
    """``'My sheet'!$B$11`` -> ``("My sheet", "B11")``; None for anything but one cell or range."""
    match = a1.DESTINATION.match(text.strip())
    if match is None:
        return None
    sheet = match.group(1).replace("''", "'") if match.group(1) else match.group(2)
    return sheet, match.group(3).replace("$", "").upper()


def formula_text(cell_value: object) -> str | None:
    """The formula an openpyxl cell value holds (plain, shared-translated or array), or None."""
    text = getattr(cell_value, "text", None)  # an ArrayFormula: the array's formula
    if isinstance(text, str):
        cell_value = text
    if isinstance(cell_value, str) and cell_value.startswith("=") and len(cell_value) > 1:
        return cell_value
    return None


def array_range(ref: str | None, at: str) -> str:
    """The range an array formula at ``at`` fills, as ``"K6:K10"`` (``$`` and case aside); the
    cell alone when ``ref`` is missing or unreadable."""
    text = (ref or "").replace("$", "").upper().strip()
    try:
        min_col, min_row, max_col, max_row = a1.bounds(text)
    except ValueError:
        return f"{at}:{at}"
    if None in (min_col, min_row, max_col, max_row):
        return f"{at}:{at}"
    assert min_col and min_row and max_col and max_row
    return f"{a1.name(min_row, min_col)}:{a1.name(max_row, max_col)}"


def stored_cells(ws: Any) -> Mapping[tuple[int, int], Any]:
    """The cells an openpyxl worksheet holds, by ``(row, column)``; the empty ones between are
    not made. Read it, never change it.

    openpyxl 3.1 has no public way to visit only the cells a sheet holds. ``iter_rows``,
    ``rows``, ``columns`` and ``values`` (``values_only`` too) all call ``ws.cell`` for every
    coordinate from ``min_row``/``min_col`` to ``max_row``/``max_col``, and ``ws.cell``
    *creates and stores* each missing cell. Measured here: a sheet with A1 and ALL1000 (the
    1,000,000-cell box ``max_sheet_area`` allows) takes 10 s and 226 MB to walk and is left
    holding 1,000,000 cells (a workbook handed to ``Book.of`` by a caller, or about to be
    saved, would change); one cell at XFD1048576 would mean 17 billion. A guard on the box
    size would still create the cells and would refuse sheets a stored-cells walk reads at
    once. ``ReadOnlyWorksheet`` streams but pads every row to ``max_col`` and has no comments.
    So this reads openpyxl's private ``ws._cells`` (its ``{(row, column): Cell}`` store,
    unchanged through 3.1.x, which ``pyproject.toml`` pins), in this one place.
    """
    cells = getattr(ws, "_cells", None)
    if not isinstance(cells, dict):
        raise TypeError(f"expected an openpyxl 3.1 worksheet, not {type(ws).__name__}")
    return cells


def shared_number(numbers: dict[float | str, Cell], number: float) -> Cell:
    """The :class:`Cell` of a cell holding ``number`` and nothing else, one for each number
    met (kept in ``numbers`` by the caller, for one book): a sheet repeats few numbers (an
    80-80-1 network's 98,500 saved values are 15,600), and a Cell is frozen, so sharing
    changes nothing. A zero is kept by its text: ``-0.0 == 0.0``, yet each is its own."""
    key: float | str = number if number else str(number)
    cell = numbers.get(key)
    if cell is None:
        cell = numbers[key] = Cell(number)
    return cell


def _from_openpyxl(wb: Any) -> Book:
    sheets = []
    numbers: dict[float | str, Cell] = {}
    for ws in wb.worksheets:
        stored = list(stored_cells(ws).values())
        cells = {}
        for cell in stored:
            converted = _openpyxl_cell(cell, numbers)
            if converted is not None:
                # Interned, as the .xlsx reader's: one string with the layout's own.
                cells[sys.intern(cell.coordinate)] = converted
        local = getattr(ws, "defined_names", {}) or {}
        names = {n: str(getattr(d, "attr_text", "")) for n, d in local.items()}
        notes = {c.coordinate: str(c.comment.text) for c in stored if c.comment is not None}
        sheets.append(Sheet(ws.title, cells, names, notes))
    names = {n: str(getattr(d, "attr_text", "")) for n, d in wb.defined_names.items()}
    return Book(tuple(sheets), names)


def _openpyxl_cell(cell: Any, numbers: dict[float | str, Cell]) -> Cell | None:
    v = cell.value
    # A text cell that merely starts with "=" is text (data type "s"): Excel never computes it.
    if cell.data_type != "s" and (text := formula_text(v)) is not None:
        ref = getattr(v, "ref", None)  # an ArrayFormula: the range it fills
        array = array_range(ref, cell.coordinate) if ref is not None else None
        return Cell(None, sys.intern(text), array)
    if v is None:
        return None
    if cell.data_type == "e" and isinstance(v, str):
        return Cell(CellError(v))
    if isinstance(v, bool | str):
        return Cell(v)
    if isinstance(v, int | float):
        return shared_number(numbers, float(v))
    return Cell(str(v))  # dates and times as openpyxl converts them: not numbers we expect


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def text_number(text: str) -> float | None:
    """The number Excel's arithmetic reads text as (``'0.4`` -> 0.4, ``'40%`` -> 0.4), or None.

    A decimal number, with an exponent or not, and any percent signs after it (each divides by
    100, as in a formula: ``9%%`` is 0.0009), spaces around it aside. What depends on the
    locale (thousands separators, currency, dates) is left out: it reads differently on
    different machines, so no sheet can count on it."""
    body = text.strip()
    percents = len(body) - len(body.rstrip("%"))
    if percents:
        body = body[:-percents].rstrip()
    if not _NUMBER_TEXT.fullmatch(body):
        return None
    number = float(body) / 100.0**percents
    return number if math.isfinite(number) else None
