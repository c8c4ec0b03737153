"""Read an OpenDocument spreadsheet (.ods) into the same ``Book`` an .xlsx file gives.

An .ods file is a zip whose ``content.xml`` holds every sheet: ``table:table`` elements of
``table:table-row`` elements of ``table:table-cell`` (and ``table:covered-table-cell``, the
cells a merge hides, which keep their content and count in formulas). A cell's value is in
its attributes (``office:value-type`` with ``office:value``, ``office:date-value``,
``office:boolean-value``, ``office:string-value``), text in its ``text:p`` paragraphs, a
formula in ``table:formula`` (OpenFormula, translated by ``sheetgen.workbook.openformula``). Names
are ``table:named-range`` and ``table:named-expression`` elements, for the whole document or
inside one sheet.

Repeated rows and columns (``table:number-rows-repeated``, ``number-columns-repeated``) are
how LibreOffice writes the empty rest of a sheet (a million rows of 16,384 empty cells):
empty repeats cost nothing here and do not count as cells or area, while a repeated cell
that holds something becomes that many cells, counted against ``max_cells`` and the sheet
area *before* it is expanded. The limits judge what the file holds, not the grid it claims.

Like :class:`sheetgen.workbook.xlsx.SheetCapture`, :class:`ContentCapture` takes the events of the
streaming pass ``sheetgen.workbook.safety`` makes over ``content.xml`` to vet it, by local name, so
the part is parsed once. Prefixes are what LibreOffice, Excel and Google Sheets write
(``table:``, ``office:``, ``text:``); a document that binds the ODF namespaces to other
prefixes is read again with namespace processing (:func:`read_ods` does this).

A date-typed cell becomes its serial number (days since the document's null date,
1899-12-30 unless it says otherwise) and a time its fraction of a day, as Excel's formulas
see them. Macros (``Basic/``, ``Scripts/``, event listeners) are never read, only noticed;
linked sheets (``table:table-source``) are left out of the book and reported as links.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import sys
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.parsers import expat

from .. import a1
from ..errors import UnsafeFileError
from .book import Book, Cell, CellError, Sheet, Value, shared_number
from .hints import OverLimit, raise_hint
from .openformula import FormulaError, expression_to_excel, range_to_excel, to_excel
from .xlsx import BrokenXml, ReadError

__all__ = ["CONTENT", "ContentCapture", "OdsFacts", "macro_parts", "read_ods", "reads"]

CONTENT = "content.xml"
"""The one part of an .ods package the reader parses."""

NAMESPACES = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
}
"""The prefixes the fast path relies on, with the namespaces they must stand for."""

_BY_URI = {uri: prefix for prefix, uri in NAMESPACES.items()}
_NULL_DATE = _dt.date(1899, 12, 30)
_DURATION = re.compile(
    r"(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_NUMBERS = frozenset({"float", "percentage", "currency"})
# Containers of rows inside a sheet; everything else in a sheet (shapes, forms, scenarios,
# column descriptions) holds no cells and is skipped whole.
_ROW_GROUPS = frozenset({"table-header-rows", "table-rows", "table-row-group"})
_CELLS = frozenset({"table-cell", "covered-table-cell"})
_NAMES = frozenset({"named-range", "named-expression"})
# Inside a paragraph: elements whose text is not the cell's (comments, frames, notes).
_NOT_TEXT = frozenset({"annotation", "frame", "note", "custom-shape", "ruby-text"})


def reads(part: str) -> bool:
    """Whether the reader parses ``part`` (only ``content.xml``; the rest is only vetted)."""
    return part == CONTENT


def macro_parts(names: Iterable[str]) -> bool:
    """Whether an .ods package carries macros: a Basic library or scripts of another language."""
    return any(n.startswith(("Basic/", "Scripts/")) and not n.endswith("/") for n in names)


@dataclass
class OdsFacts:
    """What reading ``content.xml`` found besides cells: counts, links, macro bindings."""

    cells: int = 0
    rows: int = 0
    links: list[str] = field(default_factory=list)
    event_listeners: bool = False


class ContentCapture:
    """The sheets, cells and names of ``content.xml``, from a streaming parse's events.

    ``label`` (the file's name, for messages), ``max_cells`` and ``max_area`` are the limits
    :class:`sheetgen.workbook.safety.Limits` sets; breaching one raises
    :class:`~sheetgen.errors.UnsafeFileError` (for ``max_cells``, an
    :class:`~sheetgen.workbook.hints.OverLimit`, which the vetting counts to the end).
    """

    def __init__(self, label: str, max_cells: int, max_area: int, counting: bool = False) -> None:
        self.label = label
        self.counting = counting
        """Only count cells and rows (none is kept): the vetting's recount of a file refused
        for ``max_cells``, to say the figure that lets it through."""
        self.max_cells = max_cells
        self.max_area = max_area
        self.facts = OdsFacts()
        self.sheets: list[Sheet] = []
        self.names: dict[str, str] = {}
        self.namespaces: tuple[tuple[str, str], ...] = ()
        self.unusual_prefixes = False
        self.null_date = _NULL_DATE
        self.depth = 0
        self.skip = 0  # depth of the element being skipped whole, or 0
        self.root_seen = False
        # The sheet being read.
        self.title: str | None = None
        self.table_depth = 0
        self.linked = False
        self.cells: dict[str, Cell] = {}
        # Number cells by their number, shared across the book (``shared_number``).
        self.numbers: dict[float | str, Cell] = {}
        self.local_names: dict[str, str] = {}
        self.row = 0  # rows of this sheet before the current one
        self.max_row = 0
        self.max_column = 0
        # The row being read: (column, cell) of its non-empty cells, its repeat count.
        self.row_cells: list[tuple[int, Cell]] = []
        self.row_repeat = 1
        self.column = 0
        # The cell being read.
        self.cell_depth = 0
        self.cell_attrs: dict[str, str] = {}
        self.cell_repeat = 1
        self.wants_text = True
        self.paragraphs: list[list[str]] | None = None
        self.in_paragraph = 0  # depth of the open text:p, or 0
        self.text_skip = 0
        # The cell's note (office:annotation): its depth, the depth of its open text:p, its text.
        self.note_depth = 0
        self.note_paragraph = 0
        self.note: list[str] = []
        self.notes: dict[str, str] = {}

    # --- events (local names, attributes by qualified name)

    def start(self, local: str, attrs: dict[str, str]) -> None:
        depth = self.depth = self.depth + 1
        if self.skip:
            if local == "event-listener":
                self.facts.event_listeners = True
            return
        if self.cell_depth:
            self._cell_content(local, attrs, depth)
            return
        if not self.root_seen:
            self.root_seen = True
            self._declarations(attrs)
            return
        if self.title is not None:
            self._in_sheet(local, attrs, depth)
        elif local == "table":
            self._open_sheet(attrs, depth)
        elif local in _NAMES:
            self._name(local, attrs, self.names)
        elif local == "null-date":
            self._null_date(attrs.get("table:date-value"))
        elif local == "dde-source" or local == "dde-link":
            self.facts.links.append(attrs.get("office:dde-application", "a DDE link"))
        elif local == "event-listener":
            self.facts.event_listeners = True

    def end(self, local: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if self.skip:
            if depth == self.skip:
                self.skip = 0
            return
        if self.cell_depth:
            if depth == self.cell_depth:
                self._close_cell()
            elif depth == self.in_paragraph:
                self.in_paragraph = 0
            elif depth == self.text_skip:
                self.text_skip = 0
            elif depth == self.note_paragraph:
                self.note_paragraph = 0
            elif depth == self.note_depth:
                self.note_depth = 0
            return
        if self.title is None:
            return
        if local == "table-row":
            self._close_row()
        elif depth == self.table_depth:
            self._close_sheet()

    def text(self, data: str) -> None:
        if self.note_paragraph:
            self.note.append(data)
        elif self.in_paragraph and not self.text_skip and self.paragraphs is not None:
            self.paragraphs[-1].append(data)

    # --- document

    def _declarations(self, attrs: dict[str, str]) -> None:
        declared = {k[6:]: v for k, v in attrs.items() if k.startswith("xmlns:")}
        self.namespaces = tuple(sorted(declared.items()))
        for prefix, uri in declared.items():
            usual = _BY_URI.get(uri)
            if (usual is not None and usual != prefix) or (
                prefix in NAMESPACES and NAMESPACES[prefix] != uri
            ):
                self.unusual_prefixes = True

    def _null_date(self, text: str | None) -> None:
        if text:
            try:
                self.null_date = _dt.date.fromisoformat(text[:10])
            except ValueError:
                raise ReadError(
                    f"its settings count dates from {text[:40]!r} (the null date), which is "
                    "not a date",
                    "",
                ) from None

    def _count_of(self, attrs: dict[str, str], key: str, what: str) -> int:
        """The count ``attrs[key]`` gives (1 if none): how often a row or cell repeats, how
        far an array spans. ``what`` says it in words, ``{}`` standing for the count."""
        text = attrs.get(key)
        try:
            return _repeat(text)
        except ValueError:
            said = what.format(repr((text or "")[:20]))
            raise ReadError(
                f"on sheet {self.title!r}, {said}, which is not a whole number from 1 up", ""
            ) from None

    def _name(self, local: str, attrs: dict[str, str], into: dict[str, str]) -> None:
        name = attrs.get("table:name")
        if not name:
            return
        base = attrs.get("table:base-cell-address")
        try:
            if local == "named-range":
                into[name] = range_to_excel(attrs.get("table:cell-range-address", ""), base)
            else:
                into[name] = expression_to_excel(attrs.get("table:expression", ""), base)
        except FormulaError:
            into[name] = "#REF!"

    # --- sheets and rows

    def _open_sheet(self, attrs: dict[str, str], depth: int) -> None:
        self.title = attrs.get("table:name", f"Sheet{len(self.sheets) + 1}")
        self.table_depth = depth
        self.linked = False
        self.cells = {}
        self.local_names = {}
        self.notes = {}
        self.row = 0
        self.max_row = self.max_column = 0

    def _close_sheet(self) -> None:
        if not self.linked and self.title is not None:
            self.sheets.append(Sheet(self.title, self.cells, self.local_names, self.notes))
        self.title = None

    def _in_sheet(self, local: str, attrs: dict[str, str], depth: int) -> None:
        if local == "table-row":
            self.row_cells = []
            self.row_repeat = self._count_of(
                attrs, "table:number-rows-repeated", "a row repeats {} times"
            )
            self.column = 0
        elif local in _CELLS:
            self.cell_depth = depth
            self.cell_attrs = attrs
            self.cell_repeat = self._count_of(
                attrs, "table:number-columns-repeated", "a cell repeats {} times"
            )
            self.wants_text = (
                attrs.get("office:value-type") not in _NUMBERS
                or attrs.get("calcext:value-type") == "error"
            )
            self.paragraphs = None
            self.in_paragraph = self.text_skip = 0
            self.note_depth = self.note_paragraph = 0
            self.note = []
        elif local in _ROW_GROUPS or local == "named-expressions":
            pass
        elif local in _NAMES:
            self._name(local, attrs, self.local_names)
        elif local == "table-source":
            self.linked = True
            self.facts.links.append(attrs.get("xlink:href", f"the sheet {self.title}"))
            self.skip = depth
        else:
            if local == "event-listener":
                self.facts.event_listeners = True
            self.skip = depth

    def _cell_content(self, local: str, attrs: dict[str, str], depth: int) -> None:
        if self.note_depth:  # a note's paragraphs are its text; its author and date are not
            if local == "p" and not self.note_paragraph:
                if self.note:
                    self.note.append("\n")
                self.note_paragraph = depth
            return
        if self.in_paragraph:
            if self.text_skip:
                return
            if local in _NOT_TEXT:
                self.text_skip = depth
            elif self.paragraphs is not None:
                if local == "s":
                    spaces = self._count_of(
                        attrs, "text:c", "a cell's text repeats a space {} times"
                    )
                    self.paragraphs[-1].append(" " * spaces)
                elif local == "tab":
                    self.paragraphs[-1].append("\t")
                elif local == "line-break":
                    self.paragraphs[-1].append("\n")
            return
        if depth != self.cell_depth + 1:
            return
        if local == "p" or local == "h":
            if not self.wants_text:  # a number's display text: its value is in the attributes
                self.skip = depth
                return
            if self.paragraphs is None:
                self.paragraphs = []
            self.paragraphs.append([])
            self.in_paragraph = depth
        elif local == "cell-range-source":
            self.facts.links.append(attrs.get("xlink:href", "another file"))
        elif local == "annotation":
            self.note_depth = depth
        else:
            if local == "event-listener":
                self.facts.event_listeners = True
            self.skip = depth  # annotations, frames, detective marks: not the cell's value

    def _close_cell(self) -> None:
        attrs = self.cell_attrs
        repeat = self.cell_repeat
        first = self.column + 1
        self.column += repeat
        self.cell_depth = 0
        if self.note:
            self.notes[a1.name(self.row + 1, first)] = "".join(self.note)
            self.note = []
        cell = self._cell(attrs)
        if cell is None:
            return
        rows = attrs.get("table:number-matrix-rows-spanned")
        columns = attrs.get("table:number-matrix-columns-spanned")
        if cell.formula is not None and (rows or columns):  # an array formula's top-left cell
            top = a1.name(self.row + 1, first)
            spanned = "table:number-matrix-rows-spanned", "table:number-matrix-columns-spanned"
            height = self._count_of(attrs, spanned[0], "an array formula spans {} rows")
            width = self._count_of(attrs, spanned[1], "an array formula spans {} columns")
            bottom = (self.row + height, first + width - 1)
            if bottom[0] <= a1.MAX_ROW and bottom[1] <= a1.MAX_COLUMN:
                cell = Cell(cell.value, cell.formula, f"{top}:{a1.name(*bottom)}")
        self._count(repeat, self.row + 1, self.column)
        self.row_cells.extend((column, cell) for column in range(first, first + repeat))

    def _close_row(self) -> None:
        top = self.row + 1
        self.row += self.row_repeat
        cells = self.row_cells
        if not cells:
            return
        repeat = self.row_repeat
        if repeat > 1:
            self._count(len(cells) * (repeat - 1), self.row, cells[-1][0])
        self._count_rows(repeat)
        if self.counting:
            self.row_cells = []
            return
        store = self.cells
        for row in range(top, top + repeat):
            for column, cell in cells:
                store[a1.name(row, column)] = cell
        self.row_cells = []

    def _count(self, cells: int, row: int, column: int) -> None:
        """Count ``cells`` more cells reaching to (row, column); refuse past the limits."""
        facts = self.facts
        facts.cells += cells
        if facts.cells > self.max_cells:
            raise OverLimit(
                f"{self.label} has more than {self.max_cells:,} cells, counting repeated ones",
                "max_cells",
            )
        if row > a1.MAX_ROW or column > a1.MAX_COLUMN:
            raise UnsafeFileError(
                f"{self.label} has content outside Excel's grid on sheet {self.title!r}."
            )
        if row > self.max_row or column > self.max_column:
            self.max_row = max(self.max_row, row)
            self.max_column = max(self.max_column, column)
            if self.max_row * self.max_column > self.max_area:
                corner = a1.name(self.max_row, self.max_column)
                raise UnsafeFileError(
                    f"{self.label} has content across A1:{corner} on sheet {self.title!r}, "
                    f"more than the limit of {self.max_area:,} cells per sheet"
                    f"{raise_hint('max_sheet_area')}."
                )

    def _count_rows(self, rows: int) -> None:
        self.facts.rows += rows
        if self.facts.rows > self.max_cells:
            raise OverLimit(
                f"{self.label} has more than {self.max_cells:,} rows with content", "max_cells"
            )

    # --- one cell's value

    def _cell(self, attrs: dict[str, str]) -> Cell | None:
        formula = attrs.get("table:formula")
        value = self._value(attrs)
        if formula is not None:
            try:
                text = to_excel(formula, self.namespaces)
            except FormulaError:
                text = "=" + formula.partition("=")[2]  # the engine names it unreadable
            # Interned, as the .xlsx reader's: one string with the layout's own text.
            text = sys.intern(text)
            if type(value) is float:
                value = shared_number(self.numbers, value).value
            return Cell(value, text)
        if value is None:
            return None
        if type(value) is float:
            return shared_number(self.numbers, value)
        return Cell(value)

    def _text(self) -> str | None:
        if self.paragraphs is None:
            return None
        return "\n".join(["".join(p) for p in self.paragraphs])

    def _value(self, attrs: dict[str, str]) -> Value:
        kind = attrs.get("office:value-type")
        if attrs.get("calcext:value-type") == "error":
            return CellError((self._text() or "#VALUE!").strip())
        try:
            if kind in _NUMBERS:
                return float(attrs.get("office:value", ""))
            if kind == "boolean":
                return attrs.get("office:boolean-value", "").strip().lower() in ("true", "1")
            if kind == "date":
                return self._date(attrs.get("office:date-value", ""))
            if kind == "time":
                return _duration(attrs.get("office:time-value", ""))
        except ValueError:
            where = a1.name(min(self.row + 1, a1.MAX_ROW), min(self.column, a1.MAX_COLUMN))
            held = attrs.get(_VALUE_ATTRIBUTES.get(kind or "", "office:value"), "")
            saved = "a number" if kind in _NUMBERS else f"a {kind}"
            raise ReadError(
                f"cell {where} of sheet {self.title!r} is saved as {saved} but holds {held[:40]!r}",
                "",
            ) from None
        text = self._text()
        if kind == "string":
            return attrs.get("office:string-value", text or "")
        return text if text else None

    def _date(self, text: str) -> float:
        day, _, time = text.partition("T")
        days = (_dt.date.fromisoformat(day) - self.null_date).days
        if not time:
            return float(days)
        moment = _dt.time.fromisoformat(time[:15])
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        return days + (seconds + moment.microsecond / 1e6) / 86400

    # --- result

    def book(self) -> Book:
        return Book(tuple(self.sheets), dict(self.names))


_VALUE_ATTRIBUTES = {"date": "office:date-value", "time": "office:time-value"}
"""Where a cell of a value type keeps its value, where that is not ``office:value``."""


def _repeat(text: str | None) -> int:
    """A count of repeats (or spans) as written, ValueError if it is not one of 1 or more."""
    if not text:
        return 1
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


def _duration(text: str) -> float:
    """``PT12H30M00S`` -> 0.5208...: an ODF duration as a fraction of a day."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not text.strip():
        raise ValueError(text)
    sign, days, hours, minutes, seconds = match.groups()
    total = (
        float(days or 0)
        + float(hours or 0) / 24
        + float(minutes or 0) / 1440
        + float(seconds or 0) / 86400
    )
    return -total if sign else total


def read_ods(data: bytes, capture: ContentCapture) -> Book:
    """The book ``capture`` read during the vetting pass over ``data`` (the .ods file's bytes).

    If the document binds the ODF namespaces to unusual prefixes, ``content.xml`` is parsed
    again with namespace processing into a fresh capture, so no cell is misread.
    """
    if not capture.root_seen:
        raise ReadError("it has no content.xml, the part that holds its sheets", "")
    if not capture.unusual_prefixes:
        return capture.book()
    again = ContentCapture(capture.label, capture.max_cells, capture.max_area)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            content = zf.read(CONTENT)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ReadError("it is damaged: its part content.xml cannot be unpacked", "") from exc
    try:
        _parse_namespaced(content, again)
    except OverLimit as exc:
        if exc.name != "max_cells":
            raise
        counter = ContentCapture(capture.label, sys.maxsize, capture.max_area, counting=True)
        _parse_namespaced(content, counter)  # the figure that lets it through: counted
        raise exc.counted(max(counter.facts.cells, counter.facts.rows)) from None
    capture.facts = again.facts
    return again.book()


def _parse_namespaced(content: bytes, capture: ContentCapture) -> None:
    """Feed ``capture`` the usual prefixes whatever the document calls its namespaces."""
    parser = expat.ParserCreate(namespace_separator=" ")

    def refuse(*_args: object) -> None:
        raise ReadError("it declares an XML document type, which spreadsheets never have")

    def qualified(name: str) -> tuple[str, str]:
        uri, _, local = name.rpartition(" ")
        prefix = _BY_URI.get(uri)
        return (prefix or "", local if prefix or not uri else "\x00" + local)

    declared: dict[str, str] = {}

    def declare(prefix: str | None, uri: str) -> None:
        if prefix:
            declared.setdefault(prefix, uri)

    def start(name: str, attrs: dict[str, str]) -> None:
        renamed: dict[str, str] = {}
        for key, value in attrs.items():
            prefix, local = qualified(key)
            renamed[f"{prefix}:{local}" if prefix else local] = value
        first = not capture.root_seen
        capture.start(qualified(name)[1], renamed)
        if first:  # formulas name their language by the document's own prefixes
            capture.namespaces = tuple(sorted(declared.items()))

    def end(name: str) -> None:
        capture.end(qualified(name)[1])

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartNamespaceDeclHandler = declare
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = capture.text
    parser.buffer_text = True
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise BrokenXml.of(exc, CONTENT) from exc
    except ReadError as exc:
        exc.within(CONTENT)
        raise
