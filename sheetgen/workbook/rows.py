"""A worksheet's rows read by one compiled regular expression, for the forms every common
writer uses; ``None`` for anything else, which the streaming expat pass then reads.

Reading a worksheet through expat costs several Python calls for each element (the safety
scan's handlers and :class:`~sheetgen.workbook.xlsx.SheetCapture`'s), three or four elements
a cell. Most worksheets (openpyxl's, Excel's, LibreOffice's, Gnumeric's) are a run of rows
whose cells take a handful of shapes, so :func:`read_rows` matches one cell per step at C
speed and does the little left in Python. It accepts only what it can read exactly as the
expat pass does, and only well-formed XML (every byte of the run is matched):

- ``<row r="N" ...>`` with ``r`` first and plain attributes after it (no entities, no tabs
  or newlines, names not repeated), or ``<row r="N" .../>``; whitespace between tags;
- ``<c r="A1">`` with an upper-case ``r``, and at most ``s`` and ``t`` besides; inside it,
  in this order, an optional ``<f>`` (no attributes but LibreOffice's ``aca`` and ``ca``:
  no shared or array formulas), ``<v>`` and ``<is><t>text</t></is>`` (plain inline text);
- text with the five predefined entities only, no carriage return, no character XML
  forbids.

Anything else (a namespace prefix such as ``<x:c>``, a cell without ``r``, a shared or
array formula, ``cm``, rich text, a comment, CDATA, a character reference) makes it return
``None``. Counting against the safety limits is the caller's business
(``sheetgen.workbook.safety``): :class:`Rows` says what the run holds.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from typing import Final

from .. import a1
from .book import Cell, CellError, Value


class SharedString(int):
    """A ``t="s"`` cell's index into the shared strings, until the table is known."""


def cell_value(kind: str, v: str | None, inline: str | None) -> Value | SharedString:
    """What a cell of type ``kind`` holds, from its ``<v>`` text and inline string.
    ValueError where ``v`` does not read as ``kind``."""
    if kind == "inlineStr":
        return inline
    if v is None or v == "":
        return None
    if kind == "s":
        return SharedString(int(v))
    if kind == "b":
        return bool(int(float(v)))
    if kind == "e":
        return CellError(v.strip())
    if kind in ("str", "d"):
        return v
    return float(v)


_WS = r"[ \t\n]*"
# Character data: no markup, the five predefined entities, no character XML 1.0 forbids and
# no carriage return (expat turns CR LF into LF). "]]>" is refused by the caller's search.
_CHARS = r"[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*"
_TEXT = rf"{_CHARS}(?:&(?:amp|lt|gt|quot|apos);{_CHARS})*"
_FLAG = r'"(?:true|false|1|0)"'
_TOKEN = re.compile(
    _WS
    + r"(?:"
    # 1 r, 2 further attributes, 3 "/" of an empty row
    + r'<row r="([1-9][0-9]{0,6})"((?: [A-Za-z_][-A-Za-z0-9_.:]*="[^"<&\t\n\r]*")*) ?(/?)>'
    # 4 a row's end
    + r"|(</row>)"
    # 5 column letters, 6 row digits, 7 or 8 t
    + r'|<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"'
    + r'(?: s="[0-9]{1,9}"(?: t="([A-Za-z]{1,9})")?| t="([A-Za-z]{1,9})"(?: s="[0-9]{1,9}")?)? ?'
    + r"(?:/>|>"
    + _WS
    # 9 the formula's text
    + rf"(?:<f(?: aca={_FLAG})?(?: ca={_FLAG})? ?(?:>({_TEXT})</f>|/>){_WS})?"
    # 10 the value's text
    + rf"(?:<v>({_TEXT})</v>{_WS}|<v ?/>{_WS})?"
    # 11 the inline string's text
    + rf'(?:<is>{_WS}<t(?: xml:space="preserve")?>({_TEXT})</t>{_WS}</is>{_WS})?'
    + r"</c>)"
    + r")"
)

_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def _unescaped(text: str) -> str:
    if "&" in text:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    return text


_NAMES = re.compile(r' ([^=]+)="')


@functools.lru_cache(maxsize=256)
def _plain_attributes(text: str) -> bool:
    """Whether a row's attributes after ``r`` name no attribute twice (nor ``r`` again): the
    same few strings on every row of a sheet, checked once each."""
    names = _NAMES.findall(text)
    return "r" not in names and len(set(names)) == len(names)


_COLUMNS: dict[str, int] = {}
_MAX_ROW: Final = a1.MAX_ROW
_MAX_COLUMN: Final = a1.MAX_COLUMN


def _column(letters: str) -> int:
    number = _COLUMNS.get(letters)
    if number is None:
        number = a1.column_number(letters)
        if len(_COLUMNS) < a1.MAX_COLUMN:
            _COLUMNS[letters] = number
    return number


@dataclass(frozen=True, slots=True)
class Rows:
    """What one run of whole rows holds, for the reader and for the safety counts."""

    cells: list[tuple[str, Cell]]
    """The cells that hold something, in the order written (shared strings as
    :class:`SharedString`)."""
    cell_count: int
    """Every ``<c>``, empty ones too."""
    row_count: int
    max_row: int
    """The largest row and column of any cell (0 when there is none)."""
    max_col: int
    last_row: int
    """The last ``<row>``'s ``r`` (0 when there is none)."""
    last_cell: tuple[int, int] | None
    """The (row, column) of the last cell of the last row, if it has any."""
    shared: bool
    """Whether any cell refers to a shared string."""


def read_rows(body: str, numbers: dict[str, Cell] | None = None) -> Rows | None:
    """The rows written in ``body`` (a run of whole ``<row>`` elements and whitespace), or
    None if it holds anything :func:`read_rows` does not read exactly (module docstring).

    ``numbers``: a number cell's :class:`Cell` by the text of its ``<v>``, kept by the caller
    for the runs of one worksheet. A sheet repeats few numbers (an 80-80-1 network's 98,500
    saved values are 15,600 numbers): cells with the same text share one float, and number
    cells without a formula one :class:`Cell` (frozen, so sharing changes nothing)."""
    if "]]>" in body:
        return None
    match = _TOKEN.match
    end = len(body)
    pos = 0
    cells: list[tuple[str, Cell]] = []
    append = cells.append
    intern = sys.intern
    if numbers is None:
        numbers = {}
    known = numbers.get
    column_of = _COLUMNS.get
    row_count = max_row = max_col = last_row = 0
    shared = False
    last: tuple[str, str] | None = None  # the last cell's letters and digits, in this row
    in_row = False
    while pos < end:
        m = match(body, pos)
        if m is None:
            break
        pos = m.end()
        (r, extra, empty, closing, letters, digits, t1, t2, ftext, vtext, inline) = m.groups()
        if letters is not None:
            if not in_row:
                return None
            # The hot path: a few hundred thousand cells at most, each as cheap as it gets.
            last = letters, digits
            row = int(digits)
            if row > max_row:
                if row > _MAX_ROW:
                    return None
                max_row = row
            column = column_of(letters) or _column(letters)
            if column > max_col:
                if column > _MAX_COLUMN:
                    return None
                max_col = column
            kind = t1 or t2
            if kind is None or kind == "n":
                if vtext:
                    number = known(vtext)
                    if number is None:
                        try:
                            number = numbers[vtext] = Cell(float(vtext))
                        except ValueError:
                            return None  # the expat pass words the error
                    if not ftext:  # a number, no formula: its shared Cell
                        append((intern(letters + digits), number))
                        continue
                    value: Value | SharedString = number.value
                else:
                    value = None
            else:
                shared = shared or kind == "s"
                try:
                    value = cell_value(
                        kind,
                        None if vtext is None else _unescaped(vtext),
                        None if inline is None else _unescaped(inline),
                    )
                except ValueError:
                    return None
            # Addresses and formulas interned: the layout's cells and the compiled formulas'
            # inputs are then these very strings, held once (an 80-80-1 network has 90,000
            # of them). The process's intern table costs 22 to 44 bytes an entry, the copy
            # it spares 50 and more: a 10,000-step run's verify holds 8 MB more (max RSS) when
            # either is left uninterned. The table is one block that doubles as it fills, so
            # a memory profile charges it (7.7 MB for that run) to whichever of these two
            # lines interns the entry that made it grow, the formula's on one sheet, the
            # address's on another alike.
            if ftext:
                formula = intern("=" + (_unescaped(ftext) if "&" in ftext else ftext))
                append((intern(letters + digits), Cell(value, formula)))
            elif value is not None:
                append((intern(letters + digits), Cell(value)))
        elif r is not None:
            if in_row or (extra and not _plain_attributes(extra)):
                return None
            last_row = int(r)
            if last_row > _MAX_ROW:
                return None
            row_count += 1
            last = None
            in_row = not empty
        elif closing is not None:
            if not in_row:
                return None
            in_row = False
    if in_row or body[pos:].strip(" \t\n"):
        return None
    last_cell = None if last is None else (int(last[1]), _column(last[0]))
    cell_count = body.count("<c ")  # every "<" of the run is a tag's: these are its cells
    return Rows(cells, cell_count, row_count, max_row, max_col, last_row, last_cell, shared)
