"""A1 cell references: ``"B2"`` to ``(2, 2)`` and back, ranges to their bounds.

openpyxl has these too, but importing anything from openpyxl imports all of openpyxl (and
numpy), a fifth of a second that ``verify`` no longer pays: it reads workbooks itself
(``sheetgen.workbook.xlsx``). Excel's limits: columns A..XFD (16,384), rows 1..1,048,576.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable

MAX_COLUMN = 16_384
MAX_ROW = 1_048_576

CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
"""A cell reference, whole (``fullmatch``): ``B2``, ``$B$2``, ``xfd1048576``; groups: letters,
row."""
COLUMN = re.compile(r"\$?([A-Za-z]{1,3})")
"""A whole column's letters (``A`` of ``A:C``)."""
ROW = re.compile(r"\$?([0-9]{1,7})")
"""A whole row's number (``1`` of ``1:3``)."""

CELL_IN_FORMULA = re.compile(r"(?<![\w.!$:'\"])\$?([A-Za-z]{1,3})\$?(\d+)(?![\w(!:])")
"""A plain cell reference inside formula text: ``B2`` and ``$B$2`` in ``=$B$2*C2``, but not
``LOG10(``, ``Sheet1!B2``, ``x.B2`` nor the ends of ``A1:B2``; groups: letters, row."""

PLAIN_CELL = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,6}")
"""A cell name as the engine writes it (``B2``: upper case, no ``$``, no leading zero)."""

TEMPLATE_CELL = re.compile(r"(?<![\w.])[A-Z]{1,3}[0-9]+(?![\w(])")
"""A cell address in a resolved template formula (``B5``; not ``LOG10(`` nor ``Tiny``)."""

READ_RANGE = re.compile(
    r"(?<![\w.$!'\"])\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})"
    r"(?::\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6}))?(?![\w(!])"
)
"""A cell or range a layout's formula reads: ``B2``, ``$B$2``, ``B2:D4`` (not ``TANH(`` or
``LOG10(``, nor a name); upper case, as the builder writes; groups: the two corners."""

_SHIFT_CELL = r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})"
REFERENCE = re.compile(
    r"(?<![A-Za-z0-9_.$:])(?:"
    rf"{_SHIFT_CELL}(?::{_SHIFT_CELL})?"  # a cell or a range of cells: B2, $B$2:C3
    r"|(\$?)([A-Za-z]{1,3}):(\$?)([A-Za-z]{1,3})"  # whole columns: A:C
    r"|(\$?)([0-9]{1,7}):(\$?)([0-9]{1,7})"  # whole rows: 2:3
    r")(?![A-Za-z0-9_(!.:])"
)
"""Any reference a formula may shift: a cell or range of cells, whole columns (``A:C``) or
whole rows (``2:3``), each part with its ``$``; found outside quotes by the caller."""

DESTINATION = re.compile(
    r"^(?:'((?:[^']|'')+)'|([^'!:]+))!(\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)$"
)
"""A defined name's destination: a sheet (quoted or not) ``!`` one cell or range."""


@functools.lru_cache(maxsize=1024)
def column_letter(index: int) -> str:
    """``1`` -> ``"A"``, ``28`` -> ``"AB"``."""
    if not 1 <= index <= MAX_COLUMN:
        raise ValueError(f"column {index} is outside A..XFD")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """The number column letters stand for, even beyond ``XFD`` (``"ZZZ"`` -> 18,278): for a
    caller that refuses such a column in its own words. Letters only, as :data:`CELL` finds them."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


@functools.lru_cache(maxsize=1024)
def column_index(letters: str) -> int:
    """``"A"`` -> ``1``, ``"ab"`` -> ``28``."""
    if not 1 <= len(letters) <= 3 or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"{letters!r} is not a column")
    index = column_number(letters)
    if index > MAX_COLUMN:
        raise ValueError(f"column {letters} is outside A..XFD")
    return index


# A few thousand: a sheet's cells asked for again and again (a class's workbooks of one
# layout) are answered at once; every cell of a large network kept would be 10 MB more.
@functools.lru_cache(maxsize=8192)
def split(coordinate: str) -> tuple[int, int]:
    """``"B2"`` (or ``"$B$2"``) -> ``(row, column)``, ``(2, 2)``; ValueError if it is not one."""
    match = CELL.fullmatch(coordinate)
    if match is None:
        raise ValueError(f"{coordinate!r} is not a cell reference")
    row = int(match.group(2))
    if not 1 <= row <= MAX_ROW:
        raise ValueError(f"row {row} is outside 1..{MAX_ROW}")
    return row, column_index(match.group(1))


def named_cell(text: str) -> bool:
    """Whether ``text`` is a cell's name as :func:`name` writes it (:data:`PLAIN_CELL`: ``B2``,
    upper case, no ``$``, no leading zero) inside Excel's grid (:func:`within`): both at once,
    by one match and two comparisons, for the tens of thousands of names a sheet's formulas
    read."""
    found = _NAMED_CELL.fullmatch(text)
    return (
        found is not None and (len(found[1]) < 3 or found[1] <= "XFD") and int(found[2]) <= MAX_ROW
    )


_NAMED_CELL = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")


def within(coordinate: str) -> bool:
    """Whether ``coordinate`` is a cell of Excel's grid (``XFE1`` and ``A0`` are not)."""
    try:
        split(coordinate)
    except ValueError:
        return False
    return True


def name(row: int, column: int) -> str:
    """``(2, 2)`` -> ``"B2"``; interned, as a cell's name is kept by the book, the layout and
    the evaluator alike (one string for all of them, not one each)."""
    return sys.intern(f"{column_letter(column)}{row}")


def bounds(reference: str) -> tuple[int | None, int | None, int | None, int | None]:
    """``"A1:C3"`` -> ``(min_col, min_row, max_col, max_row)``; whole rows or columns give None.

    ``"B2"`` is the range of one cell; ``"A:C"`` has no rows, ``"2:3"`` no columns.
    """
    text = reference.replace("$", "")
    first, _, last = text.partition(":")
    last = last or first
    corners: list[tuple[int | None, int | None]] = []
    for part in (first, last):
        if part.isdigit():
            corners.append((int(part), None))
        elif part.isalpha():
            corners.append((None, column_index(part)))
        else:
            corners.append(split(part))
    (r1, c1), (r2, c2) = corners
    if (r1 is None) != (r2 is None) or (c1 is None) != (c2 is None):
        raise ValueError(f"{reference!r} is not a range")
    if r1 is not None and r2 is not None and r1 > r2:
        r1, r2 = r2, r1
    if c1 is not None and c2 is not None and c1 > c2:
        c1, c2 = c2, c1
    return c1, r1, c2, r2


def compact(cells: Iterable[str]) -> str:
    """Cells as a short list of blocks: ``B7,B8,C7,C8,E2`` -> ``"B7:C8,E2"``.

    An exercise records its blanks this way in one defined name, which must stay short (Excel
    allows 8,192 characters in a formula); :func:`expand` reads it, and plain lists too.
    """
    runs: dict[tuple[int, int], list[int]] = {}  # (first row, last row) -> columns
    rows_of: dict[int, list[int]] = {}
    for row, column in {split(c) for c in cells}:
        rows_of.setdefault(column, []).append(row)
    for column, rows in sorted(rows_of.items()):
        rows.sort()
        first = rows[0]
        for previous, following in zip(rows, [*rows[1:], None], strict=True):
            if following != previous + 1:
                runs.setdefault((first, previous), []).append(column)
                first = following if following is not None else first
    blocks: list[tuple[int, int, int, int]] = []  # (first column, first row, last column, last row)
    for (top, bottom), columns in runs.items():
        left = columns[0]
        for previous, following in zip(columns, [*columns[1:], None], strict=True):
            if following != previous + 1:
                blocks.append((left, top, previous, bottom))
                left = following if following is not None else left
    out = []
    for left, top, right, bottom in sorted(blocks, key=lambda b: (b[1], b[0])):
        start, end = name(top, left), name(bottom, right)
        out.append(start if start == end else f"{start}:{end}")
    return ",".join(out)


def expand(text: str) -> list[str]:
    """``"B7:B9,C7"`` -> ``["B7", "B8", "B9", "C7"]``; what cannot be read is left out."""
    out: list[str] = []
    for item in filter(None, (t.strip().upper() for t in text.split(","))):
        try:
            c1, r1, c2, r2 = bounds(item)
        except ValueError:
            continue
        if c1 and r1 and c2 and r2 and (c2 - c1 + 1) * (r2 - r1 + 1) <= MAX_EXPANDED:
            out.extend(name(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
    return out


MAX_EXPANDED = 100_000
"""The most cells one recorded range may stand for: a hand-edited name cannot make ``expand``
list a whole sheet."""


@functools.lru_cache(maxsize=4096)
def normal_formula(formula: str) -> str:
    """A formula without ``$``, spaces and case, outside string literals: the same formula
    typed another way (``=$B$2*c2`` and ``=B2*C2``) compares equal."""
    pieces = formula.split('"')
    pieces[::2] = [p.replace("$", "").replace(" ", "").upper() for p in pieces[::2]]
    return '"'.join(pieces)


def plain(formula: str) -> bool:
    """Whether every reference in ``formula`` is a plain cell (no sheet names, ranges, strings or
    links: none of ``!:"'[``), so :data:`CELL_IN_FORMULA` finds them all."""
    return _NOT_PLAIN.search(formula) is None


_NOT_PLAIN = re.compile("[!:\"'[]")


def shape(formula: str) -> tuple[str, dict[str, str]]:
    """A formula's shape and the cells it was made from: ``=B5*C5+$B$5`` -> ``("=A1*A2+A1",
    {"B5": "A1", "C5": "A2"})``, placeholders in order of appearance.

    A generated sheet fills a few shapes down thousands of rows, so work done per shape
    (compiling, vetting) is done once. A formula with sheet names, ranges, strings or links
    (any of ``!:"'[``) comes back as written, with no cells: its references are not plain.
    """
    if not plain(formula):
        return formula, {}
    # split() hands back text, cell, text, cell, ..., text: one pass in C. A formula of many
    # cells (a large network's sums: 161 each, 13,000 of them) is then worked on as whole
    # lists, in C too: a Python step per cell costs a fifth more there.
    parts = _split_cells(formula)
    if len(parts) == 1:
        return formula, {}
    if len(parts) < _MANY:  # a few cells (most formulas): one at a time
        cells: dict[str, str] = {}
        for k in range(1, len(parts), 2):
            ref = sys.intern(parts[k].replace("$", "").upper())
            parts[k] = cells.get(ref) or cells.setdefault(ref, _PLACEHOLDERS[len(cells)])
        return "".join(parts), cells
    refs = parts[1::2]
    found = "".join(refs)
    if "$" in found or not found.isupper():  # rare: cells are written B2, as the engine names them
        refs = "\0".join(refs).replace("$", "").upper().split("\0")
    # Interned: compiled formulas keep their cells' names, and a network's cell names recur
    # in hundreds of formulas (one string each would be most of verify's memory).
    refs = list(map(sys.intern, refs))
    distinct = dict.fromkeys(refs)
    count = len(distinct)
    names = placeholders(count)
    cells = dict(zip(distinct, names, strict=False))
    # Placeholders in order, one per reference, unless a cell is read twice.
    parts[1::2] = names[:count] if count == len(refs) else list(map(cells.__getitem__, refs))
    return "".join(parts), cells


_split_cells = re.compile(r"((?<![\w.!$:'\"])\$?[A-Za-z]{1,3}\$?\d+(?![\w(!:]))").split
""":data:`CELL_IN_FORMULA`'s split with the whole reference as its one group."""
_MANY = 16
"""From this many parts (7 cells) on, :func:`shape` works on whole lists."""
_PLACEHOLDERS = tuple(f"A{n}" for n in range(1, 257))
"""The names :func:`shape` gives a formula's first cells, made once."""


def placeholders(count: int) -> tuple[str, ...]:
    """The names :func:`shape` gives a formula's ``count`` distinct cells, in order (at
    least ``count`` of them: the first 256 are made once)."""
    if count <= len(_PLACEHOLDERS):
        return _PLACEHOLDERS
    return _PLACEHOLDERS + tuple(f"A{n}" for n in range(len(_PLACEHOLDERS) + 1, count + 1))
