"""The streaming expat pass over one XML part: no DTDs or entities, counting cells, rows,
merges, text sizes, elements and depth against the limits; the reader takes a worksheet's
cells from the very same events."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Final, NoReturn, Protocol
from xml.parsers import expat

from ... import a1
from ...errors import UnsafeFileError
from ..hints import OverLimit
from ..xlsx import BrokenXml, ReadError
from .limits import Limits
from .messages import count, place, show

# --------------------------------------------------------------------------
# Streaming inflate and XML scan


INFLATE_CHUNK: Final = 256 * 1024
_EXPAT_BUFFER: Final = 64 * 1024
# Elements openpyxl expands into one cell object per covered coordinate.
_EXPANDING: Final = frozenset({"mergeCell", "hyperlink", "comment"})
# Elements whose attributes the scan looks at (beyond rows and cells).
_NOTABLE: Final = _EXPANDING | {"dimension", "worksheet", "Relationship", "f"}
# Containers whose text openpyxl joins into one string.
_STRING_ITEMS: Final = frozenset({"si", "is", "c", "comment", "text"})


_ENCODING: Final = re.compile(
    rb"""(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([^"'>]{0,40})["']"""
)
_UTF8: Final = ("", "utf-8", "utf8")
"""What a part that declares no encoding, or UTF-8's, is in."""
_INVALID_TOKEN: Final = expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]


def _utf8(data: bytes) -> bool:
    """Whether ``data``, a chunk of a part (which may begin and end inside a character), is
    UTF-8."""
    start = 0
    while start < min(3, len(data)) and 0x80 <= data[start] <= 0xBF:
        start += 1
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[start:], final=False)
    except UnicodeDecodeError:
        return False
    return True


class Budget:
    """Counters shared by every part of one file. ``accepted``: the container kinds the
    command reads ("xlsx", maybe "ods"), for what a damaged file's sentence tells its owner
    to save."""

    def __init__(
        self,
        limits: Limits,
        accepted: Iterable[str] = ("xlsx",),
        titles: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self.limits = limits
        self.accepted = tuple(accepted)
        self.titles = titles
        """The file's worksheets' titles by part in lower case (``messages.place``), asked
        only when a refusal is worded (the caller reads them then, once)."""
        self.tracking: frozenset[str] = frozenset()
        """The limits whose figures a recount measures (``vet``): passing one is measured,
        not refused (depth, text, a sheet's area, merged links)."""
        self.needed: dict[str, int] = {}
        """The least figure of each limit in ``tracking`` that lets what was scanned so far
        through, once it was passed."""
        self.elements = 0
        self.cells = 0
        self.rows = 0
        self.worksheets = 0
        self.inflated = 0
        self.formula_work = 0

    def where(self, part: str) -> str:
        """``part`` as a refusal names it to the file's owner: a worksheet by its title, the
        shared strings as the text its cells hold (``messages.place``)."""
        return place(part, self.titles())

    def measured(self, name: str, figure: int) -> bool:
        """Whether the limit ``name``, passed with ``figure``, is measured (the figure kept)
        rather than refused."""
        if name not in self.tracking:
            return False
        self.needed[name] = max(self.needed.get(name, 0), figure)
        return True


class Listener(Protocol):
    """Takes the elements a scan sees (local names, namespaces dropped) as it sees them."""

    def start(self, local: str, attrs: dict[str, str]) -> None: ...

    def end(self, local: str) -> None: ...

    def text(self, data: str) -> None: ...


class XmlScan:
    """A streaming, non-building pass over one XML part with expat.

    Only counters are kept, so memory stays at expat's buffer plus one chunk
    however large the part.  Expat never sees more than ``raw_gap`` bytes
    without a ``>``, which bounds how much it buffers for one tag; DTDs and
    entity declarations are refused on sight (no expansion ever happens).
    """

    def __init__(
        self, label: str, part: str, budget: Budget, listener: Listener | None = None
    ) -> None:
        self.label = label
        # The listener's handlers, looked up once (the hot path calls them for every element).
        self.listen_start = listener.start if listener is not None else None
        self.listen_end = listener.end if listener is not None else None
        self.listen_text = listener.text if listener is not None else None
        self.part = part
        self.budget = budget
        limits = budget.limits
        self.max_text = limits.max_text_chars
        self.max_depth = limits.max_xml_depth
        self.max_area = limits.max_sheet_area
        self.max_cells = limits.max_cells
        self.max_elements = limits.max_xml_elements
        # Workbook-wide counters, copied in so the hot path reads plain
        # attributes; written back by close().
        self.elements = budget.elements
        self.cells = budget.cells
        self.rows = budget.rows
        self.worksheets = budget.worksheets
        # A string of max_text characters takes at most 6 bytes each escaped
        # (&quot;) or 4 in UTF-8; anything longer between two '>' is refused.
        self.raw_gap_limit = 8 * limits.max_text_chars + 2 * INFLATE_CHUNK
        self.raw_gap = 0
        self.skipped_lines = 0
        self.depth = 0
        self.text = 0
        self.item_depth = 0  # depth of the open string item (si, c, ...) or 0
        self.row_stack: list[int] = []  # depths of open <row> elements
        self.row_top = -1
        self.cell_depth = -1  # depth of a <row>'s children, or -1
        self.row = 0
        self.col = 0
        self.max_row = 0
        self.max_col = 0
        self.max_letters = ""
        self.max_letters_len = 0
        self.is_link_rels = part.lower().startswith("xl/externallinks/_rels/")
        self.link_targets: list[str] = []
        self.merges: list[tuple[int, int, int, int]] = []
        self.link_cells: list[tuple[int, int]] = []
        self.max_pairs = limits.max_merge_link_pairs
        self.shared_masters: dict[str, int] = {}  # si -> master formula length
        self.master_si = ""
        self.master_depth = -1
        self.master_start = 0
        self.formula_work = budget.formula_work
        self.max_formula_work = limits.max_shared_formula_chars
        self.encoding: str | None = None
        """The encoding the part declares, lower case ("" if none), once it is parsed."""
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = _EXPAT_BUFFER
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._doctype_start
        parser.EndDoctypeDeclHandler = self._doctype_end
        parser.EntityDeclHandler = self._entity
        parser.UnparsedEntityDeclHandler = self._entity
        parser.ExternalEntityRefHandler = self._external
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        self.parser = parser

    # --- feeding

    def close(self) -> None:
        """Hand the workbook-wide counters back to the budget."""
        budget = self.budget
        budget.elements = self.elements
        budget.cells = self.cells
        budget.rows = self.rows
        budget.worksheets = self.worksheets
        budget.formula_work = self.formula_work
        self._check_links_on_merges()

    def _check_links_on_merges(self) -> None:
        """Refuse what makes openpyxl search every merge for every hyperlink.

        openpyxl moves a single-cell hyperlink that lands inside a merge (not on
        its top-left cell) by testing each merged range in turn.  The covered
        cells are only collected when the product could be too large; they
        are bounded by ``max_cells`` because merges count towards it.
        """
        merges, links = self.merges, self.link_cells
        if len(merges) * len(links) <= self.max_pairs:
            return
        covered: set[tuple[int, int]] = set()
        for r1, c1, r2, c2 in merges:
            covered.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
            covered.discard((r1, c1))
        inside = sum(1 for cell in links if cell in covered)
        pairs = inside * len(merges)
        if pairs > self.max_pairs:
            if self.budget.measured("max_merge_link_pairs", pairs):
                return
            raise OverLimit(  # in the words of the learner's application: merged cells
                f"{self.label} has {count(inside)} hyperlinks inside "
                f"{count(len(merges))} merged cells in {self._where()}, too many to read in "
                "reasonable time, as each of those hyperlinks is looked for in every merged "
                "cell",
                "max_merge_link_pairs",
            )

    def feed(self, chunk: bytes, final: bool = False) -> None:
        """The next chunk of the part as inflated: measured, then parsed."""
        self.measure(chunk)
        self.parse(chunk, final)

    def measure(self, chunk: bytes) -> None:
        """Refuse a chunk that makes too long a run without ``>`` (a string past the limit)."""
        gt = chunk.rfind(b">")
        self.raw_gap = self.raw_gap + len(chunk) if gt < 0 else len(chunk) - gt - 1
        if self.raw_gap > self.raw_gap_limit:
            self._too_much_text()

    def parse(self, data: bytes, final: bool = False) -> None:
        """Hand ``data`` to expat. Lines read without it (``skipped_lines``: rows
        :class:`~sheetgen.workbook.safety.sheetpass.SheetPass` read) still count in messages."""
        if self.encoding is None:
            found = _ENCODING.match(data)
            if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:64]:
                self.encoding = "utf-16"  # expat knows it by its byte order mark
            else:
                self.encoding = found.group(1).decode("ascii", "replace").lower() if found else ""
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as exc:
            not_utf8 = exc.code == _INVALID_TOKEN and self.encoding in _UTF8 and not _utf8(data)
            raise BrokenXml.of(exc, self.part, self.skipped_lines, not_utf8) from exc
        except (LookupError, ValueError) as exc:
            # expat's refusal of the encoding a part declares comes before its root element
            if self.encoding in _UTF8 or self.depth:
                raise
            raise ReadError(
                f"its XML declares a text encoding ({show(self.encoding, 30)}) that this "
                "reader does not read (workbooks are saved as UTF-8)",
                self.part,
            ) from exc

    # --- refusals

    def _where(self) -> str:
        return self.budget.where(self.part)

    def _entity(self, *_args: object) -> None:
        raise UnsafeFileError(
            f"{self.label} contains an XML entity declaration in {self._where()} "
            "(a possible XML bomb)."
        )

    def _doctype_start(self, *_args: object) -> None:
        # Entities are declared inside the DTD; let expat report them first so
        # the message names the real danger, and refuse the DTD at its end.
        return None

    def _doctype_end(self) -> None:
        raise UnsafeFileError(
            f"{self.label} contains an XML document type declaration in {self._where()}, "
            "which workbooks never have (a possible XML bomb)."
        )

    def _external(self, *_args: object) -> int:
        raise UnsafeFileError(
            f"{self.label} contains an external XML entity reference in {self._where()} "
            "(a possible XML bomb)."
        )

    def _too_much_text(self) -> NoReturn:
        raise OverLimit(
            f"{self.label} has, in {self._where()}, a piece of text longer than "
            f"{count(self.budget.limits.max_text_chars)} characters",
            "max_text_chars",
        )

    def _text_breached(self) -> None:
        """An item's text is past the limit: refused, or measured by a recount."""
        if not self.budget.measured("max_text_chars", self.text):
            self._too_much_text()
        self.max_text = self.text

    def _too_many(self, what: str, limit: int, name: str = "max_cells") -> NoReturn:
        raise OverLimit(f"{self.label} has more than {count(limit)} {what}", name)

    # --- handlers (the hot path: keep attribute lookups and calls to a minimum)

    def _limit_breached(self) -> None:
        if self.elements > self.max_elements:
            self._too_many("XML elements", self.max_elements, "max_xml_elements")
        if self.budget.measured("max_xml_depth", self.depth):
            self.max_depth = self.depth
            return
        raise OverLimit(
            f"{self.label} nests XML elements in {self._where()} more than "
            f"{self.budget.limits.max_xml_depth} levels deep",
            "max_xml_depth",
        )

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = name[name.find(":") + 1 :]
        if self.listen_start is not None:
            self.listen_start(local, attrs)
        self.elements += 1
        depth = self.depth = self.depth + 1
        if self.elements > self.max_elements or depth > self.max_depth:
            self._limit_breached()
        if self.item_depth == 0:
            self.text = 0
        if depth == self.cell_depth:
            # openpyxl turns every child of a <row> into a cell, whatever its name.
            if self.item_depth == 0:
                self.item_depth = depth
            self._cell(attrs.get("r"))
            return
        if local == "row":
            self._row(attrs.get("r"), depth)
        elif self.item_depth == 0 and local in _STRING_ITEMS:
            self.item_depth = depth
        if local in _NOTABLE:
            self._notable(local, attrs, depth)

    def _end(self, name: str) -> None:
        if self.listen_end is not None:
            self.listen_end(name[name.find(":") + 1 :])
        depth = self.depth
        if depth == self.item_depth:
            self.item_depth = 0
            self.text = 0
        elif self.item_depth == 0:
            self.text = 0
        if depth == self.master_depth:
            length = self.text - self.master_start
            if length > 0:
                self.shared_masters[self.master_si] = length
            self.master_depth = -1
        if depth == self.row_top:
            self.row_stack.pop()
            self.row_top = self.row_stack[-1] if self.row_stack else -1
            self.cell_depth = self.row_top + 1 if self.row_stack else -1
        self.depth = depth - 1

    def _chars(self, data: str) -> None:
        self.text += len(data)
        if self.text > self.max_text:
            self._text_breached()
        if self.listen_text is not None:
            self.listen_text(data)

    def _notable(self, local: str, attrs: dict[str, str], depth: int) -> None:
        if local == "f":
            if attrs.get("t") == "shared":
                self._shared_formula(attrs.get("si", ""), depth)
        elif local in _EXPANDING:
            ref = attrs.get("ref")
            if ref:
                ranges = self._expanding_range(ref)
                if local == "mergeCell":
                    self.merges.extend(ranges)
                elif local == "hyperlink" and ":" not in ref:
                    self.link_cells.extend((r, c) for r, c, _, _ in ranges)
        elif local == "dimension":
            ref = attrs.get("ref")
            if ref:
                self._dimension(ref)
        elif local == "worksheet" and depth == 1:
            self.worksheets += 1
        elif local == "Relationship" and self.is_link_rels:
            target = attrs.get("Target")
            if target:
                self.link_targets.append(target)

    def _shared_formula(self, si: str, depth: int) -> None:
        """Mirror openpyxl: the first ``si`` with text is the master, later ones copy it."""
        length = self.shared_masters.get(si)
        if length is None:
            self.master_si = si
            self.master_depth = depth
            self.master_start = self.text
            return
        self.formula_work += length
        if self.formula_work > self.max_formula_work:
            raise OverLimit(
                f"{self.label} shares formulas over too many cells: filling them in "
                f"would mean rewriting more than {count(self.max_formula_work)} characters",
                "max_shared_formula_chars",
            )

    # --- cells and ranges

    def _row(self, ref: str | None, depth: int) -> None:
        self.rows += 1
        if self.rows > self.max_cells:
            self._too_many("rows", self.max_cells)
        self.row_stack.append(depth)
        self.row_top = depth
        self.cell_depth = depth + 1
        self.col = 0
        if not ref:
            self.row += 1
            return
        try:
            self.row = int(ref)
        except ValueError:
            # openpyxl accepts '7.0'; anything else makes it fail later.
            try:
                self.row = int(float(ref))
            except (ValueError, OverflowError):
                self._bad_ref(ref, "a row is numbered")

    def _cell(self, ref: str | None) -> None:
        self.cells += 1
        if self.cells > self.max_cells:
            self._too_many("cells", self.max_cells)
        if not ref:
            self.col += 1
            self._grow(self.row, self.col)
            return
        letters = ref.rstrip("0123456789")
        try:
            row = int(ref[len(letters) :])
        except ValueError:
            self._bad_ref(ref)
        if row > self.max_row or row < 1:
            self._grow(row, 1)
        # Compare column letters as strings (longer is larger; for equal
        # lengths uppercase order is column order, and '$' or lowercase only
        # ever make the string compare larger), parsing only a new maximum.
        n = len(letters)
        if n > self.max_letters_len or (n == self.max_letters_len and letters > self.max_letters):
            match = a1.CELL.fullmatch(ref)
            if match is None:
                self._bad_ref(ref)
            self.col = a1.column_number(match.group(1))
            self._grow(row, self.col)
            if self.col == self.max_col:
                self.max_letters = match.group(1).upper()
                self.max_letters_len = len(self.max_letters)

    def _grow(self, row: int, col: int) -> None:
        """Widen this sheet's used box and refuse it once it is too large."""
        if row > a1.MAX_ROW or col > a1.MAX_COLUMN or row < 1:
            raise UnsafeFileError(
                f"{self.label} refers to a cell outside Excel's grid in {self._where()}."
            )
        if row > self.max_row or col > self.max_col:
            self.max_row = max(self.max_row, row)
            self.max_col = max(self.max_col, col)
            area = self.max_row * self.max_col
            if area > self.max_area:
                if self.budget.measured("max_sheet_area", area):
                    return
                raise OverLimit(  # the range so far: a later cell may widen it
                    f"{self.label} uses the range A1:{a1.name(self.max_row, self.max_col)} "
                    f"in {self._where()}, more than the limit of {count(self.max_area)} "
                    "cells per sheet",
                    "max_sheet_area",
                )

    def _bad_ref(self, ref: str, what: str = "a cell is addressed") -> NoReturn:
        raise ReadError(
            f"{what} {show(ref, 40)!r}, which is not a place in Excel's grid (A1 to XFD1048576)",
            self.part,
        )

    def _range(self, ref: str) -> tuple[int, int, int, int]:
        """(min_row, min_col, max_row, max_col) of A1, A1:B2, A:C or 1:3 forms."""
        first, _, last = ref.partition(":")
        last = last or first
        bounds: list[tuple[int, int]] = []
        for corner in (first, last):
            cell = a1.CELL.fullmatch(corner)
            if cell:
                bounds.append((int(cell.group(2)), a1.column_number(cell.group(1))))
                continue
            col = a1.COLUMN.fullmatch(corner)
            if col and ":" in ref:
                bounds.append((-1, a1.column_number(col.group(1))))
                continue
            row = a1.ROW.fullmatch(corner)
            if row and ":" in ref:
                bounds.append((int(row.group(1)), -1))
                continue
            self._bad_ref(ref, "a range of cells is given as")
        (r1, c1), (r2, c2) = bounds
        # Whole columns or rows: openpyxl would expand them to the sheet's edge.
        if r1 < 0 or r2 < 0:
            r1, r2 = 1, a1.MAX_ROW
        if c1 < 0 or c2 < 0:
            c1, c2 = 1, a1.MAX_COLUMN
        return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)

    def _expanding_range(self, refs: str) -> list[tuple[int, int, int, int]]:
        ranges = []
        for ref in refs.split():
            r1, c1, r2, c2 = self._range(ref)
            self._grow(r2, c2)
            self.cells += (r2 - r1 + 1) * (c2 - c1 + 1)
            if self.cells > self.max_cells:
                self._too_many("cells (counting merged and linked ranges)", self.max_cells)
            ranges.append((r1, c1, r2, c2))
        return ranges

    def _dimension(self, ref: str) -> None:
        """A sheet's claimed used range is only a claim: LibreOffice writes an empty row
        1048576 after a row is deleted, and nothing here or in openpyxl builds the claimed
        box. The cells and merges the sheet really has are what count (``_grow``)."""
        del ref
