"""Where the names a book's formulas read point: the cells behind ``B2``, ``'S 1'!A1:B2``,
``TINY``, ``E:E`` or ``H6#``, and the ranges array formulas fill.

Worked out from the book's structure alone (never a value), once per sheet and name, and kept
in dicts an evaluator's what-if children share, and books of one hand-out too (``plan``). A
name that cannot be read (another workbook, a sheet or name the book lacks, a range past the
engine's limit) resolves to the :class:`~.compiled.Problem` that says why.
"""

from __future__ import annotations

import re
import sys

from .. import a1
from ..workbook.book import Book, Cell, Sheet, destination
from .compiled import Compiled, Problem
from .plan import Plan, Ref

__all__ = ["MAX_RANGE_CELLS", "MAX_WHOLE_CELLS", "References"]

MAX_RANGE_CELLS = 10_000

MAX_WHOLE_CELLS = 100_000
"""The most cells a whole-row or whole-column reference (``E:E``, ``2:2``) is read as, once
bounded by the cells the sheet holds; a larger one is the engine's limit."""

_EXTERNAL = re.compile(r"\[[^\]]*\]")


class References:
    """The sheets of one book by title, and where each name its formulas read points."""

    __slots__ = ("arrays", "book", "exact", "extents", "resolved", "sheets", "singles")

    def __init__(self, book: Book, plan: Plan | None = None) -> None:
        """``plan``: where what is worked out is kept, shared with books of the same
        structure (by default this book's own)."""
        self.book = book
        self.sheets = {sheet.title.upper(): sheet for sheet in book.sheets}
        self.exact = {sheet.title: sheet for sheet in book.sheets}  # the usual lookup
        plan = plan if plan is not None else Plan()
        # Per sheet, then per input name: the one cell a name reads (B2 on another sheet), as
        # the reference itself, or the cells of a range or the Problem (see ``resolve``). A
        # name that is a cell the sheet (by its title) holds is not kept at all: a sheet's
        # cells are keyed by their addresses as the engine names a cell (``B2``: upper case,
        # no ``$``; every reader and ``Book.of`` key them so), so such a name is that cell
        # (``a1.named_cell``), and a training run's 140,000 formulas would hold 3.8 MB of
        # entries each naming itself; an evaluator's first visit of a formula tells its
        # inputs are such cells by one lookup each in the sheet's cells. Kept as its
        # address: a cell of the sheet it does not hold (an empty one), until ``single``
        # makes its reference.
        self.resolved: dict[str, dict[str, Ref | str | list[Ref] | Problem]] = plan.resolved
        # Per sheet: the references ``single`` made to cells the sheet holds, by address.
        self.singles: dict[str, dict[str, Ref]] = plan.singles
        # Per sheet: every cell of an array formula's range -> (top-left cell, row, column offset).
        self.arrays: dict[str, dict[str, tuple[str, int, int]]] = plan.arrays
        self.extents: dict[str, tuple[int, int]] = plan.extents

    def sheet(self, title: str) -> Sheet | None:
        """The sheet titled ``title`` (as written, or in any case), or None."""
        return self.exact.get(title) or self.sheets.get(title.upper())

    def title(self, sheet: str) -> str:
        """The sheet's title as the book writes it (``sheet`` itself when there is none)."""
        ws = self.exact.get(sheet) or self.sheets.get(sheet.upper())
        return ws.title if ws is not None else sheet

    def cell(self, ref: Ref) -> Cell | None:
        sheet = self.exact.get(ref[0]) or self.sheets.get(ref[0].upper())
        return None if sheet is None else sheet.cells.get(ref[1])

    def array_cells(self, title: str) -> dict[str, tuple[str, int, int]]:
        """Every cell of each array formula's range on sheet ``title`` -> (its top-left cell,
        row and column offset); found once per sheet."""
        cells = self.arrays.get(title)
        if cells is None:
            cells = self.arrays[title] = self._scan_arrays(title)
        return cells

    def array_place(self, ref: Ref) -> tuple[str, int, int] | None:
        """Where ``ref`` is in the range of an array formula (see :meth:`array_cells`), or None."""
        cells = self.array_cells(ref[0])
        return cells.get(ref[1]) if cells else None

    def _scan_arrays(self, title: str) -> dict[str, tuple[str, int, int]]:
        """Every cell of each array formula's range on sheet ``title`` (at most
        ``MAX_RANGE_CELLS`` per formula: a larger one fills its top-left cell only)."""
        sheet = self.sheet(title)
        found: dict[str, tuple[str, int, int]] = {}
        cells = {} if sheet is None else sheet.cells
        for at, cell in [(at, c) for at, c in cells.items() if c.array is not None]:
            if cell.formula is None or cell.array is None:
                continue
            min_col, min_row, max_col, max_row = a1.bounds(cell.array)
            assert min_col and min_row and max_col and max_row
            found.setdefault(at, (at, *_offset(at, min_row, min_col)))
            if (max_row - min_row + 1) * (max_col - min_col + 1) > MAX_RANGE_CELLS:
                continue
            for r in range(min_row, max_row + 1):
                for c in range(min_col, max_col + 1):
                    found.setdefault(a1.name(r, c), (at, r - min_row, c - min_col))
        return found

    def resolve(self, sheet: str, name: str) -> list[Ref] | Problem:
        """Turn an engine input name (``B2``, ``TINY``, ``'S 1'!A1:B2``) into cell references.

        Each is resolved once per sheet (for its dependencies and its value) and kept: a name
        that reads one cell (not a range: ``A1:A1`` is handed over as an array) as that
        reference alone, not a list of one (a large network has 100,000 of them). A cell the
        sheet itself holds is not kept (see :attr:`resolved`): its address says where it is."""
        on_sheet = self.resolved.get(sheet)
        if on_sheet is None:
            on_sheet = self.resolved[sheet] = {}
        found = on_sheet.get(name)
        if found is None:
            own = self.exact.get(sheet)
            if own is not None and name in own.cells:  # a cell of this very sheet: not kept
                made = self.singles.get(sheet)
                return [(made.get(name) if made else None) or (sheet, name)]
            resolved = self._resolve_name(sheet, name)
            one = isinstance(resolved, list) and len(resolved) == 1 and ":" not in name
            if one and resolved[0][1] == name and resolved[0][0] == sheet:  # type: ignore[index]
                on_sheet[name] = name  # a cell of this sheet: its address (see ``single``)
            else:
                on_sheet[name] = resolved[0] if one else resolved  # type: ignore[index]
            return resolved
        if type(found) is str:
            return [self.single(sheet, name)]
        return [found] if type(found) is tuple else found  # type: ignore[return-value]

    def single(self, sheet: str, name: str) -> Ref:
        """The reference to the one cell ``name`` reads on ``sheet``, resolved already.

        A cell of ``sheet`` itself is first known by its address alone (not kept, or kept as
        the address: see :attr:`resolved`): an evaluator computes it by address (``Values``),
        and needs no tuple per cell (a training run's 130,000: 7 MB). The reference is made
        when first asked for (the diagnosis's walks) and kept (in :attr:`singles` for a cell
        the sheet holds, which ``resolved`` never holds), so that every list of dependencies
        holding it holds the one tuple."""
        on_sheet = self.resolved.get(sheet)
        found = None if on_sheet is None else on_sheet.get(name)
        if found is None:  # a cell the sheet holds (see ``resolved``): kept in ``singles``
            made = self.singles.get(sheet)
            if made is None:
                made = self.singles[sheet] = {}
            found = made.get(name)
            if found is None:
                # The address the sheet's cells are keyed by (the book's readers intern them),
                # not the copy a formula's text was read into: kept, that was a string a cell
                # (a training run's 140,000: 7 MB).
                name = sys.intern(name)
                found = made[name] = (sheet, name)
            return found
        if type(found) is str:  # a cell the sheet does not hold, by its address
            found = on_sheet[name] = (sheet, found)  # type: ignore[index]
        return found  # type: ignore[return-value]

    def reads(self, ref: Ref, compiled: Compiled, name: str) -> list[Ref] | Problem:
        """The cells ``ref``'s input ``name`` reads: one cell where Excel intersects a whole
        row or column with the formula's own (see ``Compiled.always``)."""
        if name in compiled.always or (name in compiled.legacy and self.array_place(ref) is None):
            return self._intersection(ref, name)
        return self.resolve(ref[0], name)

    def _intersection(self, ref: Ref, name: str) -> list[Ref] | Problem:
        sheet, text = ref[0], name
        if "!" in text:
            sheet, text = text.rsplit("!", 1)
            sheet = sheet.strip("'").replace("''", "'")
        min_col, min_row, max_col, max_row = a1.bounds(text.replace("$", "").upper())
        row, col = a1.split(ref[1])
        if min_row is None and min_col is not None and min_col == max_col:  # E:E: row's cell
            return self.resolve(sheet, a1.name(row, min_col))
        if min_col is None and min_row is not None and min_row == max_row:  # 2:2: column's
            return self.resolve(sheet, a1.name(min_row, col))
        return self.resolve(ref[0], name)  # several rows or columns: read whole

    def _resolve_name(self, sheet: str, name: str) -> list[Ref] | Problem:
        if a1.named_cell(name):  # the common case: B2
            return [(self.title(sheet), name)]
        if name.endswith("#"):  # H6# (_xlfn.ANCHORARRAY(H6)): the range H6's array fills
            return self._spill(sheet, name)
        if _EXTERNAL.search(name):
            return Problem(
                "external", f"refers to another workbook ({name}), which is never opened"
            )
        target = self.defined_range(sheet, name)
        if target is not None:
            sheet, name = target
        if "!" in name:
            sheet, name = name.rsplit("!", 1)
            sheet = sheet.strip("'").replace("''", "'")
            if sheet.upper() not in self.sheets:
                return Problem("reference", f"refers to a sheet that does not exist ({sheet})")
        name = name.replace("$", "")
        found = _full_bounds(name)
        if found is None:
            return Problem("reference", f"uses a name the workbook does not define ({name})")
        min_col, min_row, max_col, max_row = found
        limit = MAX_RANGE_CELLS
        if max_row == a1.MAX_ROW or max_col == a1.MAX_COLUMN:  # E:E, 2:2, H3:H1048576...
            # As far as the sheet holds cells, the same for every column (row), so that
            # SUMIF(A:A,"x",E:E) pairs them cell by cell: never a million-cell array.
            last_row, last_col = self.extent(self.title(sheet))
            if max_row == a1.MAX_ROW:
                max_row = max(last_row, min_row)
            if max_col == a1.MAX_COLUMN:
                max_col = max(last_col, min_col)
            limit = MAX_WHOLE_CELLS
        assert min_col and min_row and max_col and max_row
        if (max_col - min_col + 1) * (max_row - min_row + 1) > limit:
            return Problem("unsupported", f"uses a range larger than {limit} cells ({name})")
        title = self.title(sheet)
        letters = [a1.column_letter(c) for c in range(min_col, max_col + 1)]
        return [(title, f"{c}{r}") for r in range(min_row, max_row + 1) for c in letters]

    def extent(self, title: str) -> tuple[int, int]:
        """The last row and the last column sheet ``title`` holds a cell in: what bounds a
        whole-column or whole-row reference (Excel's million rows are empty beyond it)."""
        if title not in self.extents:
            sheet = self.sheet(title)
            keys = list(() if sheet is None else sheet.cells)
            # Rows and column letters by string operations (C speed), letters counted once.
            last_row = max((int(k.lstrip(_LETTERS)) for k in keys), default=1)
            columns = {k.rstrip(_DIGITS) for k in keys}
            last_col = max((a1.column_index(c) for c in columns), default=1)
            self.extents[title] = (last_row, last_col)
        return self.extents[title]

    def _spill(self, sheet: str, name: str) -> list[Ref] | Problem:
        at = name[:-1]
        if "!" in at:
            sheet, at = at.rsplit("!", 1)
            sheet = sheet.strip("'").replace("''", "'")
        at = at.replace("$", "").upper()
        cell = self.cell((self.title(sheet), at)) if a1.within(at) else None
        if cell is None or cell.formula is None or cell.array is None:
            return Problem("reference", f"reads the spill of {at} ({name}), which holds no array")
        return self._resolve_name(sheet, cell.array)

    def defined(self, sheet: str, name: str) -> str | None:
        """The text of the defined name ``name`` as formulas on ``sheet`` read it: the sheet's
        own names first, then the book's."""
        own = self.sheets.get(sheet.upper())
        return (own.name(name) if own is not None else None) or self.book.name(name)

    def defined_range(self, sheet: str, name: str) -> tuple[str, str] | None:
        """Where a defined name points (one cell or range), None if it is not one."""
        text = self.defined(sheet, name)
        return destination(text) if text is not None else None


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"


_OPEN_END = re.compile(r"([A-Z]{1,3})(\d+):(?:([A-Z]{1,3})|(\d+))?")


def _full_bounds(name: str) -> tuple[int, int, int, int] | None:
    """``(min_col, min_row, max_col, max_row)`` of a range as the engine names it, whole rows and
    columns reaching Excel's edge: ``E:E``, ``2:2``, and the engine's own ``H1:H`` (for
    ``H1:H1048576``), ``A2:2`` (``A2:XFD2``), ``A1:`` (the whole sheet); None if it is none."""
    if ":" not in name and (name.isalpha() or name.isdigit()):
        return None  # a name (``Err``), not column ERR: the engine names whole ones ``E:E``
    try:
        if name.endswith(":"):  # a1 reads "A1:" as A1
            raise ValueError(name)
        min_col, min_row, max_col, max_row = a1.bounds(name)
    except ValueError:
        match = _OPEN_END.fullmatch(name.upper())
        if match is None:
            return None
        letters, digits, to_col, to_row = match.groups()
        min_col, min_row = a1.column_index(letters), int(digits)
        max_col = a1.column_index(to_col) if to_col else a1.MAX_COLUMN
        max_row = int(to_row) if to_row else a1.MAX_ROW
        if not (1 <= min_row <= max_row <= a1.MAX_ROW and 1 <= min_col <= max_col <= a1.MAX_COLUMN):
            return None
        return min_col, min_row, max_col, max_row
    return min_col or 1, min_row or 1, max_col or a1.MAX_COLUMN, max_row or a1.MAX_ROW


def _offset(at: str, min_row: int, min_col: int) -> tuple[int, int]:
    row, col = a1.split(at)
    return row - min_row, col - min_col
