"""Read an .xlsx file's sheets, cells, formulas and defined names into a ``Book``.

openpyxl's ``load_workbook`` builds the whole object model (styles, comments, views,
drawings) and costs tens of milliseconds a workbook plus a fifth of a second to import; the
verifier needs cell values and formulas only. This reader streams each part once with expat,
on bytes ``sheetgen.workbook.safety`` has already vetted (sizes, zip bombs, no DTDs or entities: we
refuse a DTD again here anyway). It follows openpyxl where the file format leaves a choice:

- the workbook part is the package's ``officeDocument``; sheets come in ``workbook.xml``'s
  order; chart sheets are left out;
- a cell without ``r`` follows the previous one in its row; a row without ``r`` follows the
  previous row;
- ``<f>`` makes a formula cell (``"=" + text``); a shared formula's later cells get the first
  cell's formula moved by their offset (relative references only, as Excel does); an array
  formula's text belongs to its top-left cell with the range it fills (``Cell.array``: a
  legacy array, or Excel 365's spill, ``cm`` and its metadata aside), the other cells of the
  array keep their values;
- ``t="s"`` reads the shared string table (rich-text runs joined, phonetic runs left out),
  ``t="inlineStr"`` the cell's own ``<is>``, ``t="str"`` text, ``t="b"`` a boolean,
  ``t="e"`` an error, ``t="d"`` an ISO date (kept as text); anything else is a number.

One deliberate difference: a number formatted as a date stays a number (openpyxl turns it
into a ``datetime``), because that is what Excel's formulas compute with.

Any problem becomes ``ReadError``: what is wrong in plain words and, where it is known, the
part it is in; ``sheetgen.workbook.safety`` makes it the user's sentence.
"""

from __future__ import annotations

import functools
import io
import math
import posixpath
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Mapping
from typing import TypeVar
from xml.parsers import expat

from .. import a1
from .book import Book, Cell, LazyNotes, Sheet, array_range
from .rows import Rows, SharedString, cell_value

_MAIN = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_REL_ID = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


_T = TypeVar("_T")


class ReadError(Exception):
    """The file is a zip of XML, but not a workbook this reader can make sense of.

    ``str()`` is what is wrong, in words for the file's owner (who never sees the XML): it
    ends a sentence naming the file, so it names no exception and no code. ``part``: the
    part of the package it is in, where that is known (``None``: not yet; whoever reads the
    part fills it in), ``""`` where none applies (the file as a whole, or a reason that
    names its place itself)."""

    def __init__(self, reason: str, part: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.part = part

    def within(self, part: str) -> ReadError:
        """This error, placed in ``part`` unless it already has its place."""
        if self.part is None:
            self.part = part
        return self

    def told(self, where: str | None) -> str:
        """What is wrong, placed in ``where`` (the part in words: "the sheet 'Neuron'",
        :func:`~sheetgen.workbook.safety.messages.place`) when known."""
        return f"in {where}, {self.reason}" if where else self.reason


_ENDED = frozenset(
    expat.errors.codes[message]
    for message in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    )
)
"""What expat says of XML that stops before its end (a part cut short)."""


class BrokenXml(ReadError):
    """A part whose XML is not well formed: where, as a text editor counts (``line`` and
    ``column`` from 1), and whether it stops unfinished (``ended``) or holds bytes that are
    not UTF-8 text (``not_utf8``). Expat's own words ("mismatched tag") mean nothing to the
    file's owner, who never sees the XML: the place and the usual cause do, should they open
    the part or hand the file on to someone who will."""

    def __init__(
        self,
        line: int,
        column: int,
        *,
        ended: bool = False,
        not_utf8: bool = False,
        part: str | None = None,
    ) -> None:
        self.line, self.column, self.ended, self.not_utf8 = line, column, ended, not_utf8
        super().__init__(self.told(None), part)

    @classmethod
    def of(
        cls, exc: expat.ExpatError, part: str | None = None, lines: int = 0, not_utf8: bool = False
    ) -> BrokenXml:
        """Expat's refusal ``exc`` (of a part ``lines`` lines into it) in words."""
        line, column = exc.lineno + lines, exc.offset + 1
        return cls(line, column, ended=exc.code in _ENDED, not_utf8=not_utf8, part=part)

    def at(self, line: int, column: int) -> BrokenXml:
        """This error, at ``line`` and ``column`` of the part (counted again, from its start)."""
        self.line, self.column = line, column
        self.reason = self.told(None)
        self.args = (self.reason,)
        return self

    def told(self, where: str | None) -> str:
        xml = f"the file's XML for {where}" if where else "the file's XML"
        at = f"line {self.line:,}, column {self.column:,}"
        if self.not_utf8:
            return (
                f"{xml} holds bytes that are not UTF-8 text, at {at} (the usual cause is a file "
                "edited by hand and saved in another encoding)"
            )
        if self.ended:
            return f"{xml} stops unfinished at {at} (the usual cause is a file cut short)"
        return (
            f"{xml} is broken at {at} (the usual cause is a file edited by hand, or written "
            "by a program that does not write workbooks correctly)"
        )


def reads(part: str) -> bool:
    """Whether this reader may parse ``part``: where Excel, LibreOffice, Google Sheets and
    openpyxl keep relationships, the workbook, its shared strings and its worksheets.

    ``sheetgen.workbook.safety`` vets the XML of these parts only (styles, drawings, charts and
    comments are never scanned, so only their sizes are checked and their bytes searched for
    DTDs and entities); a file whose relationships point elsewhere is refused rather than read
    unvetted. Cell notes are parsed only when they are needed
    (:class:`~sheetgen.workbook.book.LazyNotes`), by an expat that refuses DTDs too, and only
    from a part of at most ``MAX_NOTES_BYTES``.
    """
    low = part.lower()
    return low.endswith(".rels") or low in _PARTS or low.startswith("xl/worksheets/")


MAX_NOTES_BYTES = 8_000_000
"""A comments part larger than this is left unread: its notes are a hint, never required."""


_PARTS = frozenset({"[content_types].xml", "xl/workbook.xml", "xl/sharedstrings.xml"})


def kept_part(part: str, size: int) -> bool:
    """Whether a pass over the package that inflates ``part`` (of ``size`` bytes) anyway
    should keep its bytes for :func:`read_book` (``parts``): what it reads, worksheets aside
    (:func:`captures`), and the notes it may read."""
    low = part.lower()
    if low.startswith("xl/comments") and low.endswith(".xml"):
        return size <= MAX_NOTES_BYTES
    return reads(part) and not captures(part)


def read_book(
    data: bytes,
    captured: Mapping[str, SheetCapture] | None = None,
    *,
    archive: zipfile.ZipFile | None = None,
    parts: Mapping[str, bytes] | None = None,
) -> Book:
    """The workbook in ``data`` (the bytes of an .xlsx file).

    ``captured``: worksheets already read by :class:`SheetCapture` during another pass over
    the same bytes (``sheetgen.workbook.safety``'s), by part name; the others are parsed here.
    ``archive``: ``data`` already opened; ``parts``: the bytes of parts that pass inflated
    (:func:`kept_part`), by name, not inflated again.
    """
    if archive is not None:
        return _Package(archive, captured or {}, parts or {}).book()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReadError("it is not a zip archive, as every .xlsx file is", "") from exc
    with zf:
        return _Package(zf, captured or {}, parts or {}).book()


class _Package:
    def __init__(
        self,
        zf: zipfile.ZipFile,
        captured: Mapping[str, SheetCapture],
        parts: Mapping[str, bytes],
    ) -> None:
        self.zf = zf
        self.names = {n.lower(): n for n in zf.namelist()}
        self.captured = {name.lower(): capture for name, capture in captured.items()}
        self.parts = parts
        self.current = ""  # the part being read, for what a failure says

    def _bytes(self, name: str) -> bytes:
        data = self.parts.get(name)
        return self.zf.read(name) if data is None else data

    def read(self, part: str) -> bytes:
        name = self.names.get(part.lstrip("/").lower())
        if name is None:
            raise ReadError(f"the part {part}, which it refers to, is missing", "")
        if not reads(name):
            raise ReadError(
                f"it keeps a workbook part in an unusual place ({name}), where spreadsheet "
                "applications never put one",
                "",
            )
        self.current = name
        return self._bytes(name)

    def has(self, part: str) -> bool:
        return part.lstrip("/").lower() in self.names

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part) of ``part``."""
        folder, base = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", base + ".rels")
        if not self.has(rels_part):
            return {}
        return dict(_recalled(_relationships, self.read(rels_part), folder))

    def worksheet(self, part: str, strings: list[str]) -> dict[str, Cell]:
        capture = self.captured.get(part.lstrip("/").lower())
        if capture is None:
            capture = SheetCapture()
            _parse(self.read(part), capture.start_named, capture.end_named, capture.text)
        self.current = part
        return capture.cells(strings)

    def notes(self, worksheet: str) -> LazyNotes:
        """The worksheet's cell notes, parsed when first looked at; none where its comments
        part is missing, large or not where Excel, LibreOffice and openpyxl keep it."""
        parts = []
        for kind, target in self.rels(worksheet).values():
            name = self.names.get(target.lower())
            low = target.lower()
            if (
                kind.endswith("/comments")
                and name is not None
                and low.startswith("xl/comments")
                and low.endswith(".xml")
                and self.zf.getinfo(name).file_size <= MAX_NOTES_BYTES
            ):
                parts.append(self._bytes(name))
        return LazyNotes(parts, _comments)

    def book(self) -> Book:
        """The workbook; any failure a :class:`ReadError` placed in the part being read."""
        try:
            return self._book()
        except ReadError as exc:
            exc.within(self.current)
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
            raise ReadError("it is damaged: a part of it cannot be unpacked", "") from exc
        except expat.ExpatError as exc:
            raise BrokenXml.of(exc, self.current) from exc
        except ValueError as exc:
            raise ReadError(
                "it holds something this reader cannot make sense of", self.current
            ) from exc

    def _book(self) -> Book:
        office = [t for kind, t in self.rels("").values() if kind.endswith("/officeDocument")]
        workbook = office[0] if office else "xl/workbook.xml"
        rels = self.rels(workbook)
        strings = next(
            (
                _shared_strings(self.read(t))
                for k, t in rels.values()
                if k.endswith("/sharedStrings")
            ),
            [],
        )
        entries, names = _recalled(_workbook, self.read(workbook))
        sheets = []
        for index, (title, rid) in enumerate(entries):
            kind, target = rels.get(rid, ("", ""))
            if not kind.endswith("/worksheet"):
                continue  # chart sheets, dialog sheets, dangling ids: no cells to verify
            local = {n: text for n, scope, text in names if scope == str(index)}
            sheets.append(Sheet(title, self.worksheet(target, strings), local, self.notes(target)))
        glob = {n: text for n, scope, text in names if scope is None}
        return Book(tuple(sheets), glob)


TITLED_BYTES = 4_000_000
"""The largest workbook part, or relationships of one, :func:`sheet_titles` reads."""


def sheet_titles(data: bytes) -> dict[str, str]:
    """Each worksheet's part (lower case) and the title its workbook gives it, as far as they
    can be read from ``data`` (an .xlsx file's bytes): what a sentence about a fault in a
    worksheet names, for the learner sees the title in their application, never the part.
    Nothing is raised: a fault in the workbook part itself leaves its sheets untitled. Only
    the relationships and the workbook part are read, each if at most ``TITLED_BYTES`` large
    as the zip directory declares it, and no more of it inflated than it declares (a
    refusal asks for the titles before the scan has seen whether a part inflates past its
    declared size, or of a directory refused for its sizes); DTDs are refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {info.filename.lower(): info for info in zf.infolist()}

            def read(part: str) -> bytes:
                info = infos.get(part.lower())
                if info is None or info.file_size > TITLED_BYTES:
                    return b""
                with zf.open(info) as stream:  # no more than its entry says, forged or not
                    return stream.read(info.file_size)

            def rels(part: str) -> dict[str, tuple[str, str]]:
                folder, base = posixpath.split(part)
                text = read(posixpath.join(folder, "_rels", base + ".rels"))
                return dict(_recalled(_relationships, text, folder)) if text else {}

            office = [t for k, t in rels("").values() if k.endswith("/officeDocument")]
            workbook = office[0] if office else "xl/workbook.xml"
            parts = rels(workbook)
            entries, _names = _recalled(_workbook, read(workbook))
    except Exception:  # whatever is wrong there is told by the sentence this serves
        return {}
    titles: dict[str, str] = {}
    for title, rid in entries:
        kind, target = parts.get(rid, ("", ""))
        if kind.endswith("/worksheet"):
            titles.setdefault(target.lower(), title)
    return titles


def _parse(
    data: bytes,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> None:
    parser = expat.ParserCreate(namespace_separator="}")

    def refuse(*_args: object) -> None:
        raise ReadError("it declares an XML document type, which workbooks never have")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    parser.buffer_text = True
    parser.Parse(data, True)


_RECALLED_BYTES = 64 * 1024
"""Parts at most this large are parsed once for all the workbooks that hold them as they
are: a class's submissions of one hand-out share their relationships and workbook parts."""


@functools.lru_cache(maxsize=64)  # at most 4 MB of parts kept as keys
def _remembered(parse: Callable[..., _T], data: bytes, *args: str) -> _T:
    return parse(data, *args)


def _recalled(parse: Callable[..., _T], data: bytes, *args: str) -> _T:
    """``parse(data, *args)``, recalled for a small part met before (``parse`` returns
    something that is never changed)."""
    if len(data) <= _RECALLED_BYTES:
        recalled: _T = _remembered(parse, data, *args)
        return recalled
    return parse(data, *args)


def _relationships(data: bytes, folder: str) -> tuple[tuple[str, tuple[str, str]], ...]:
    """A relationships part of a part in ``folder``: (id, (type, target part)) pairs."""
    out: dict[str, tuple[str, str]] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.rpartition("}")[2] == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            if target.startswith("/"):
                where = posixpath.normpath(target.lstrip("/"))
            else:
                where = posixpath.normpath(posixpath.join(folder, target))
            out[attrs.get("Id", "")] = (attrs.get("Type", ""), where)

    _parse(data, start)
    return tuple(out.items())


def _local(name: str) -> tuple[str, str]:
    ns, _, local = name.rpartition("}")
    return ns, local


def _workbook(
    data: bytes,
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str | None, str], ...]]:
    """Sheets as (title, relationship id), defined names as (name, localSheetId, text)."""
    sheets: list[tuple[str, str]] = []
    names: list[tuple[str, str | None, str]] = []
    current: list[str] | None = None
    scope: tuple[str, str | None] = ("", None)

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal current, scope
        ns, local = _local(name)
        if ns not in _MAIN:
            return
        if local == "sheet":
            rid = next(
                (v for k, v in attrs.items() if _local(k)[0] in _REL_ID and _local(k)[1] == "id"),
                "",
            )
            sheets.append((attrs.get("name", ""), rid))
        elif local == "definedName":
            current = []
            scope = (attrs.get("name", ""), attrs.get("localSheetId"))

    def end(name: str) -> None:
        nonlocal current
        if current is not None and _local(name)[1] == "definedName":
            names.append((scope[0], scope[1], "".join(current)))
            current = None

    def text(data: str) -> None:
        if current is not None:
            current.append(data)

    _parse(data, start, end, text)
    return tuple(sheets), tuple(names)


class _RichText:
    """The text of one rich-text item (a shared string, a note): its ``<t>`` runs joined, the
    phonetic runs (``<rPh>``) left out. The parser feeds it every element's local name."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.depth_rph = 0
        self.in_t = False

    def start(self, local: str, wanted: bool = True) -> None:
        """An element opens; ``wanted`` is false for a ``<t>`` outside any item."""
        if local == "rPh":
            self.depth_rph += 1
        elif local == "t" and not self.depth_rph and wanted:
            self.in_t = True

    def end(self, local: str) -> None:
        if local == "rPh":
            self.depth_rph -= 1
        elif local == "t":
            self.in_t = False

    def text(self, data: str) -> None:
        if self.in_t:
            self.parts.append(data)

    def begin(self) -> None:
        """A new item opens: forget the text gathered so far."""
        self.parts.clear()

    def joined(self) -> str:
        """The item's text so far."""
        return "".join(self.parts)


def _shared_strings(data: bytes) -> list[str]:
    """The shared string table: each ``<si>``'s text, runs joined, phonetic runs left out."""
    strings: list[str] = []
    rich = _RichText()

    def start(name: str, _attrs: dict[str, str]) -> None:
        local = _local(name)[1]
        if local == "si":
            rich.begin()
        rich.start(local)

    def end(name: str) -> None:
        local = _local(name)[1]
        if local == "si":
            strings.append(rich.joined().replace("x005F_", ""))
        rich.end(local)

    _parse(data, start, end, rich.text)
    return strings


def _comments(data: bytes) -> dict[str, str]:
    """A comments part's notes: each ``<comment ref=...>``'s text, runs joined; none at all
    for a part that is not well-formed (a prefix left unbound, say): still a workbook."""
    try:
        return _parse_comments(data)
    except (expat.ExpatError, ReadError):
        return {}


def _parse_comments(data: bytes) -> dict[str, str]:
    notes: dict[str, str] = {}
    rich = _RichText()
    ref: str | None = None

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal ref
        local = _local(name)[1]
        if local == "comment":
            ref = attrs.get("ref", "").replace("$", "").upper()
            rich.begin()
        rich.start(local, wanted=ref is not None)

    def end(name: str) -> None:
        nonlocal ref
        local = _local(name)[1]
        if local == "comment" and ref is not None:
            text = rich.joined()
            if a1.within(ref):
                notes[ref] = text
            ref = None
        rich.end(local)

    _parse(data, start, end, rich.text)
    return notes


# The worksheet elements the reader acts on, by the name expat reports ("namespace}local").
_SHEET_TAGS = {
    f"{ns}}}{local}": local
    for ns in _MAIN
    for local in ("sheetData", "row", "c", "f", "v", "is", "rPh", "t")
}


def captures(part: str) -> bool:
    """Whether ``part`` is read with a :class:`SheetCapture` (a worksheet, by its name)."""
    low = part.lower()
    return low.startswith("xl/worksheets/") and low.endswith(".xml") and low.count("/") == 2


class SheetCapture:
    """One worksheet's cells, from the events of a streaming parse; the module docstring says
    which rules it follows.

    It takes elements by local name (``start("c", attrs)``), so the pass
    ``sheetgen.workbook.safety`` makes over a worksheet to vet it can feed it too and the part
    is parsed once; inside ``<sheetData>`` every element is SpreadsheetML's own. Shared strings
    are looked up by :meth:`cells`, when the table is known (it may come later in the zip).
    Problems are raised as :class:`ReadError`.
    """

    def __init__(self) -> None:
        self._cells: dict[str, Cell] = {}
        # Number cells by their text, shared among this sheet's runs of rows (``read_rows``)
        # and the cells the expat pass reads (:meth:`finish`); let go when the cells are taken.
        self.numbers: dict[str, Cell] = {}
        self.shared_seen = False  # any cell refers to a shared string
        self.shared: dict[str, tuple[str, int, int]] = {}  # si -> (formula, row, column)
        self.row = 0
        self.column = 0
        self.in_data = False
        # The open <c>: (row, column, t, its name, or "" until it ends for a cell without r).
        self.cell: tuple[int, int, str, str] | None = None
        self.formula: dict[str, str] | None = None  # the <f>'s attributes
        self.parts: dict[str, list[str]] = {}  # "f", "v", "is": text read so far
        self.target: list[str] | None = None  # where character data goes now
        self.rph = 0

    def cells(self, strings: list[str]) -> dict[str, Cell]:
        """The cells read, shared strings looked up in ``strings``."""
        out = self._cells
        self.numbers = {}
        if not self.shared_seen:
            return out
        for at, cell in out.items():
            if isinstance(cell.value, SharedString):
                index = int(cell.value)
                if not 0 <= index < len(strings):
                    held = f"{len(strings):,} entries" if strings else "none"
                    raise ReadError(
                        f"cell {at} refers to entry {index:,} of the workbook's shared text "
                        f"(numbered from 0), which has {held}"
                    )
                out[at] = Cell(strings[index], cell.formula)
        return out

    def ready(self) -> bool:
        """Whether the parse stands just inside ``<sheetData>``, between rows, where a run
        of whole rows read by :func:`~sheetgen.workbook.rows.read_rows` may be taken."""
        return self.in_data and self.cell is None and self.target is None and not self.rph

    def take(self, rows: Rows) -> None:
        """The rows :func:`~sheetgen.workbook.rows.read_rows` read from the run of the
        worksheet that comes next, as if their elements had been seen one by one."""
        self._cells.update(rows.cells)
        self.shared_seen = self.shared_seen or rows.shared
        if rows.row_count:
            if rows.last_cell is None:
                self.row, self.column = rows.last_row, 0
            else:
                self.row, self.column = rows.last_cell

    def start_named(self, name: str, attrs: dict[str, str]) -> None:
        """:meth:`start` for a parser that reports ``namespace}local`` names."""
        local = _SHEET_TAGS.get(name)
        if local is not None:
            self.start(local, attrs)

    def end_named(self, name: str) -> None:
        local = _SHEET_TAGS.get(name)
        if local is not None:
            self.end(local)

    def start(self, local: str, attrs: dict[str, str]) -> None:
        if local == "sheetData":
            self.in_data = True
        elif not self.in_data:
            return
        elif local == "row":
            self.row = _row_number(attrs.get("r"), self.row)
            self.column = 0
        elif local == "c":
            ref = attrs.get("r")
            if ref:
                try:
                    self.row, self.column, at = _place(ref)
                except ValueError as exc:
                    raise ReadError(
                        f"a cell is addressed {ref[:20]!r}, which is not the address of a cell "
                        "in Excel's grid (A1 to XFD1048576)"
                    ) from exc
            else:
                self.column += 1
                at = ""  # named when the cell ends, as the safety pass vets its column first
            self.cell = (self.row, self.column, attrs.get("t", "n"), at)
            self.formula = None
            self.parts = {}
        elif self.cell is None:
            return
        elif local == "f" or local == "v":
            if local == "f":
                self.formula = attrs
            self.target = self.parts.setdefault(local, [])
        elif local == "is":
            self.parts.setdefault("is", [])
        elif local == "rPh":
            self.rph += 1
        elif local == "t" and "is" in self.parts and not self.rph:
            self.target = self.parts["is"]

    def end(self, local: str) -> None:
        if local == "c":
            if self.cell is not None:
                self.finish(*self.cell)
                self.cell = None
        elif local == "f" or local == "v" or local == "t":
            self.target = None
        elif local == "sheetData":
            self.in_data = False
        elif local == "rPh":
            self.rph -= 1

    def text(self, data: str) -> None:
        if self.target is not None:
            self.target.append(data)

    def finish(self, row: int, column: int, kind: str, at: str) -> None:
        at = at or a1.name(row, column)
        parts = self.parts
        v = "".join(parts["v"]) if "v" in parts else None
        inline = "".join(parts["is"]) if "is" in parts else None
        try:
            value = cell_value(kind, v, inline)
        except ValueError as exc:
            saved = _KINDS.get(kind, "a number")
            raise ReadError(f"cell {at} is saved as {saved} but holds {(v or '')[:40]!r}") from exc
        formula = array = None
        if self.formula is not None:
            text = "".join(parts["f"]) if "f" in parts else ""
            formula = self._formula(self.formula, text, row, column)
            if formula is not None and self.formula.get("t") == "array":
                array = array_range(self.formula.get("ref"), at)
        if type(value) is float and v is not None:
            # Shared by its text, as :func:`~sheetgen.workbook.rows.read_rows` shares them.
            number = self.numbers.get(v)
            if number is None:
                number = self.numbers[v] = Cell(value)
            if formula is None:
                self._cells[at] = number
                return
            value = number.value
        if formula is not None or value is not None:
            self._cells[at] = Cell(value, formula, array)
            if isinstance(value, SharedString):
                self.shared_seen = True

    def _formula(self, attrs: dict[str, str], text: str, row: int, column: int) -> str | None:
        kind = attrs.get("t", "normal")
        if kind == "dataTable":
            return None  # a what-if table: Excel fills it in, there is no formula to evaluate
        if kind == "shared":
            si = attrs.get("si", "")
            if si in self.shared:
                master, first_row, first_column = self.shared[si]
                return sys.intern(shift(master, row - first_row, column - first_column))
            if text:
                self.shared[si] = ("=" + text, row, column)
        # Interned: one string with the layout's own text of the same formula (see layouts).
        return sys.intern("=" + text) if text else None


@functools.lru_cache(maxsize=4096)
def _place(ref: str) -> tuple[int, int, str]:
    """A cell's ``r`` (``B2``, ``$B$2``, ``b2``) as (row, column, name): the same few hundred
    names in every workbook of a class, worked out once each (a few thousand kept: a large
    sheet's names are each met once, and would only hold memory). ValueError if it is none."""
    row, column = a1.split(ref)
    return row, column, a1.name(row, column)


_KINDS = {"s": "a reference to the shared text", "b": "TRUE or FALSE", "e": "an error"}
"""What a cell's ``t`` says it holds, in words, where that is not a number (any other ``t``
is read as a number, as openpyxl does; text kinds cannot fail)."""


def _row_number(text: str | None, previous: int) -> int:
    if not text:
        return previous + 1
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not number.is_integer() or not 1 <= number <= a1.MAX_ROW:
        raise ReadError(
            f"a row is numbered {text[:20]!r}, but rows are numbered 1 to {a1.MAX_ROW:,}"
        )
    return int(number)


# A shared formula's later cells: the first cell's relative references moved by the offset.
# References are found outside string literals and quoted sheet names; a name followed by "("
# is a function, by "!" a sheet, and letters or digits around a match make it another name.
_QUOTED = re.compile(r"(\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*')")


class _OffSheet(Exception):
    """A moved reference fell off the sheet (above row 1 or left of column A)."""


def shift(formula: str, rows: int, columns: int, *, wrap: bool = False) -> str:
    """``formula`` as it reads ``rows`` down and ``columns`` right (``$``-anchored parts stay).

    A part moved off the sheet makes the reference ``#REF!``, as a copied formula's does;
    with ``wrap`` it comes round from the other edge, as Excel reads a defined name's relative
    references (kept relative to A1: one column left of the cell using it is column XFD).
    """
    if rows == 0 and columns == 0:
        return formula
    pieces = _QUOTED.split(formula)
    for i in range(0, len(pieces), 2):  # the even pieces are outside quotes
        pieces[i] = a1.REFERENCE.sub(lambda m: _moved(m, rows, columns, wrap), pieces[i])
    return "".join(pieces)


def _moved(m: re.Match[str], rows: int, columns: int, wrap: bool) -> str:
    def col(anchor: str, letters: str) -> str:
        if anchor:
            return anchor + letters
        index = a1.column_index(letters) + columns
        if wrap:
            index = (index - 1) % a1.MAX_COLUMN + 1
        elif not 1 <= index <= a1.MAX_COLUMN:
            raise _OffSheet
        return a1.column_letter(index)

    def row(anchor: str, digits: str) -> str:
        if anchor:
            return anchor + digits
        number = int(digits) + rows
        if wrap:
            number = (number - 1) % a1.MAX_ROW + 1
        elif not 1 <= number <= a1.MAX_ROW:
            raise _OffSheet
        return str(number)

    g = m.groups()
    try:
        if g[1] is not None:
            first = col(g[0], g[1]) + row(g[2], g[3])
            return first if g[5] is None else f"{first}:{col(g[4], g[5])}{row(g[6], g[7])}"
        if g[9] is not None:
            return col(g[8], g[9]) + ":" + col(g[10], g[11])
        return row(g[12], g[13]) + ":" + row(g[14], g[15])
    except _OffSheet:
        return "#REF!"
