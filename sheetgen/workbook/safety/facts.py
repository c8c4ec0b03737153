"""What vetting a file found, and the vetted workbook handed on with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..book import Book


@dataclass(frozen=True)
class FileFacts:
    """What :func:`check_file` found in a file it accepted.

    ``has_macros`` and ``external_links`` are findings, not failures: openpyxl
    never loads VBA (``keep_vba=False``) or linked workbooks
    (``keep_links=False``), but a verifier may want to tell the learner.
    """

    path: Path
    size_bytes: int
    kind: str
    """The container: ``"xlsx"`` (also .xlsm) or ``"ods"``."""
    entries: int
    uncompressed_bytes: int
    xml_elements: int
    worksheets: int
    cells: int
    """``<c>`` elements plus cells that merges, hyperlinks and comments expand to."""
    rows: int
    has_macros: bool
    """A VBA project or Excel 4 macro sheet is present (.ods: Basic or script parts, or
    event listeners that call macros)."""
    external_links: tuple[str, ...]
    """Targets of ``xl/externalLinks/*`` parts (or the part names if no target); in an .ods,
    linked sheets, linked ranges and DDE links."""


@dataclass(frozen=True)
class CheckedWorkbook:
    """An openpyxl workbook together with the facts found while vetting it."""

    workbook: Any
    facts: FileFacts
    data: bytes = b""
    """The very bytes that were vetted and loaded: read these again, never the path."""


@dataclass(frozen=True)
class CheckedBook:
    """A workbook's cells and formulas (``sheetgen.workbook.book``), the facts found vetting it."""

    book: Book
    facts: FileFacts
