"""A worksheet's pass: expat up to ``<sheetData>``, then runs of whole rows read by one
regular expression (:func:`~sheetgen.workbook.rows.read_rows`) wherever they allow it, then
expat again; the same counts and limits as the expat pass, the same cells.

Expat calls two Python handlers for each element of a worksheet (the scan's and the
reader's), three or four elements a cell: most of reading a workbook. Here the rows a common
writer writes are matched at C speed instead, a run at a time, and counted against the limits
in one step. Whatever the regular expression does not read exactly (module docstring of
``sheetgen.workbook.rows``) goes to expat, from the start of that run to the end of the part,
so every error and every limit is met at the same place, with the same message, as by the
expat pass alone:

- the rows are taken only where expat stands inside ``<sheetData>`` between rows, after a
  head with no comment, processing instruction, CDATA or DTD (so that ``<sheetData>`` is the
  element itself) in UTF-8;
- a run is counted against the limits before it is taken (elements, cells, rows, the sheet's
  area, the text of one item); one that would breach any goes to expat, which refuses it
  where it breaches;
- bytes held back for a run not yet whole are handed to expat before any other refusal
  (:meth:`SheetPass.flush`), so an earlier fault is still reported first.
"""

from __future__ import annotations

import re
from typing import Final

from ... import a1
from ..rows import read_rows
from ..xlsx import SheetCapture
from .xmlscan import XmlScan

_OPEN: Final = b"<sheetData>"
_CLOSE: Final = b"</sheetData>"
_ROW_END: Final = b"</row>"
_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_HEAD, _BODY, _EXPAT = range(3)


class SheetPass:
    """Feeds one worksheet to ``scan`` (an :class:`XmlScan` whose listener is ``capture``),
    reading the runs of rows it can itself. Used as the scan is: :meth:`feed`, :meth:`close`."""

    def __init__(self, scan: XmlScan, capture: SheetCapture) -> None:
        self.scan = scan
        self.capture = capture
        self.mode = _HEAD
        self.held = b""  # bytes not yet parsed: the head's tail, or a run not yet whole
        self.first = True
        self.took = False
        """Whether any run of rows was read here, not by expat (whose lines and columns then
        miss them: a fault's place is counted again, ``entries``)."""

    @property
    def link_targets(self) -> list[str]:
        return self.scan.link_targets

    def close(self) -> None:
        self.scan.close()

    def flush(self) -> None:
        """Hand what is held back to expat, and expat the rest of the part."""
        data, self.held = self.held, b""
        self.mode = _EXPAT
        if data:
            self.scan.parse(data)

    def feed(self, chunk: bytes, final: bool = False) -> None:
        scan = self.scan
        if self.mode == _EXPAT:
            scan.feed(chunk, final)
            return
        try:
            scan.measure(chunk)
        except Exception:
            self.flush()
            raise
        data, self.held = self.held + chunk, b""
        if self.mode == _HEAD:
            after = self._head(data, final)
            if after is None:
                return
            data = after
        self._body(data, final)

    def _head(self, data: bytes, final: bool) -> bytes | None:
        """Parse up to ``<sheetData>`` and return what follows it; None while it is not yet
        seen or when the rows cannot be read here (the part then goes to expat)."""
        scan = self.scan
        if self.first:
            self.first = False
            declaration = _DECLARATION.match(data)
            if declaration is not None:
                encoding = _ENCODING.search(declaration.group())
                if encoding is not None and encoding.group(1).lower() != b"utf-8":
                    self.mode = _EXPAT
                    scan.parse(data, final)
                    return None
                scan.parse(data[: declaration.end()])
                data = data[declaration.end() :]
        at = data.find(_OPEN)
        end = len(data) if at < 0 else at
        if b"<!" in data[:end] or b"<?" in data[:end]:
            self.mode = _EXPAT
            scan.parse(data, final)
            return None
        if at < 0:
            keep = 0 if final else min(len(data), len(_OPEN))
            scan.parse(data[: len(data) - keep], final)
            self.held = data[len(data) - keep :]
            return None
        cut = at + len(_OPEN)
        scan.parse(data[:cut])
        if not self._inside_rows():
            self.mode = _EXPAT
            scan.parse(data[cut:], final)
            return None
        self.mode = _BODY
        return data[cut:]

    def _inside_rows(self) -> bool:
        scan = self.scan
        return (
            self.capture.ready()
            and not scan.row_stack
            and scan.item_depth == 0
            and scan.master_depth == -1
            and scan.max_col == 0
            and scan.depth + 4 <= scan.max_depth
        )

    def _body(self, data: bytes, final: bool) -> None:
        """Read the whole rows in ``data``; hold back a run not yet whole."""
        close = data.find(_CLOSE)
        if close >= 0:
            run, rest = data[:close], data[close:]
        else:
            end = data.rfind(_ROW_END)
            if end < 0 and not final:
                self.held = data
                return
            end = 0 if end < 0 else end + len(_ROW_END)
            run, rest = data[:end], data[end:]
        if run and not self._take(run):
            self.mode = _EXPAT
            self.scan.parse(data, final)
            return
        if close >= 0 or final:
            self.mode = _EXPAT
            self.scan.parse(rest, final)
        else:
            self.held = rest

    def _take(self, run: bytes) -> bool:
        """Take the rows of ``run`` if they are read exactly and within the limits."""
        scan = self.scan
        if len(run) > scan.max_text:
            return False  # one item's text might pass the limit: expat measures it
        try:
            text = run.decode("utf-8")
        except UnicodeDecodeError:
            return False
        rows = read_rows(text, self.capture.numbers)
        if rows is None:
            return False
        elements = text.count("<") - text.count("</")
        max_row = max(scan.max_row, rows.max_row)
        max_col = max(scan.max_col, rows.max_col)
        if (
            scan.elements + elements > scan.max_elements
            or scan.cells + rows.cell_count > scan.max_cells
            or scan.rows + rows.row_count > scan.max_cells
            or max_row * max_col > scan.max_area
        ):
            return False
        scan.elements += elements
        scan.cells += rows.cell_count
        scan.rows += rows.row_count
        scan.max_row, scan.max_col = max_row, max_col
        if max_col:
            scan.max_letters = a1.column_letter(max_col)
            scan.max_letters_len = len(scan.max_letters)
        if rows.row_count:
            scan.row = rows.last_row
            scan.col = 0  # a row's cells are counted from its start
        scan.skipped_lines += text.count("\n")
        self.capture.take(rows)
        self.took = True
        return True
