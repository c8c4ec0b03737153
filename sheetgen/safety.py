"""Vet an untrusted workbook (.xlsx, .xlsm, or .ods for ``verify``) before and while it is parsed.

Learners send us workbooks, so every input is treated as hostile until proven
otherwise.  openpyxl and the ``formulas`` engine are written for trusted files:
used naively they inflate zip bombs into memory, keep a one-gigabyte shared
string, expand a merge over the whole sheet into 17 billion ``MergedCell``
objects, read ``/dev/zero`` forever and follow external links to other files on
disk.  This module stands in front of them:

1. :func:`check_file` reads the file once (bounded), refuses what is not a
   regular file, recognises non-xlsx containers by their magic bytes, checks the
   zip directory (entry count, names, methods, declared sizes, ratios) and then
   inflates every entry in chunks with a cap while a streaming expat pass counts
   cells, rows, merged and linked ranges, text sizes, XML elements and depth,
   and refuses DTDs and entity declarations.  Nothing is expanded into objects.
2. :func:`read_checked` (what ``verify`` uses) scans only the XML that
   ``sheetgen.reader`` will parse (every other XML part is still searched for
   DTDs and entities), and the reader takes each worksheet's cells from the
   very events of that scan (:class:`~sheetgen.reader.SheetCapture`): one
   parse, the *same bytes* (no second read, so the file cannot be swapped in
   between), and whatever goes wrong is one
   :class:`~sheetgen.errors.InputFileError` sentence.  It also reads an
   OpenDocument spreadsheet, whose ``content.xml`` is captured the same way
   (:class:`~sheetgen.ods.ContentCapture`, which counts repeated cells
   against the limits before expanding them).
3. :func:`open_workbook` (for commands that write workbooks) hands the same
   bytes, fully scanned, to openpyxl with defusedxml active, likewise.
4. :func:`formula_hazards` classifies formula text that must never be
   evaluated (external references, DDE, web and file access, dynamic refs).

Every message is one sentence with the file name in it; names that come from
the file (part names, link targets) are escaped so that a hostile name cannot
put terminal escape sequences on the user's screen.
"""

from __future__ import annotations

import functools
import io
import os
import re
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, NoReturn, Protocol
from xml.parsers import expat

from sheetgen import a1
from sheetgen.book import Book
from sheetgen.errors import InputFileError, SheetgenError, UnsafeFileError, UsageError
from sheetgen.ods import ContentCapture, macro_parts, read_ods
from sheetgen.ods import reads as ods_reads
from sheetgen.reader import ReadError, SheetCapture, captures, read_book, reads

__all__ = [
    "HAZARD_DESCRIPTIONS",
    "CheckedBook",
    "CheckedWorkbook",
    "FileFacts",
    "Limits",
    "check_file",
    "configured_limits",
    "formula_hazards",
    "load_checked",
    "open_workbook",
    "read_checked",
]

_MB: Final = 1024 * 1024

# Excel's grid: a reference beyond it can only come from a crafted file.
EXCEL_MAX_ROW: Final = 1_048_576
EXCEL_MAX_COL: Final = 16_384


@dataclass(frozen=True)
class Limits:
    """Ceilings applied to an untrusted workbook; each default says why.

    The defaults were measured with openpyxl 3.1.5 on a 2-core machine: a
    workbook at every ceiling at once still loads in about ten seconds and well
    under 1 GB of memory, while every file sheetgen generates (and any plausible
    learner's edit of one) is orders of magnitude below them.
    """

    max_file_bytes: int = 50 * _MB
    """Size of the file on disk.  The whole file is read into memory once (so it
    cannot change between checking and loading); 50 MB is far above any
    teaching workbook yet cheap to hold."""

    max_entries: int = 1000
    """Zip entries.  A generated workbook has about a dozen; zipfile builds an
    object per central-directory record, so millions of entries cost memory
    before a single byte is inflated."""

    max_entry_bytes: int = 100 * _MB
    """Uncompressed size of one entry.  openpyxl reads most parts (styles,
    workbook, drawings) whole into memory and builds an element tree from them."""

    max_total_bytes: int = 300 * _MB
    """Uncompressed size of all entries together, bounding inflate time (about
    one second per 300 MB) and what openpyxl can be asked to parse."""

    max_ratio: float = 100.0
    """Compression ratio (uncompressed / compressed) above which an entry is
    called a zip bomb.  Apache POI uses the same threshold (MIN_INFLATE_RATIO
    0.01); real sheet XML compresses 5-20 times."""

    ratio_floor_bytes: int = 1 * _MB
    """The ratio is only enforced for entries larger than this: small, highly
    repetitive parts (an empty styles table) legitimately compress 100+ times
    and cannot hurt anyone."""

    max_cells: int = 300_000
    """Cell objects openpyxl would create: ``<c>`` elements plus every cell a
    merged range, hyperlink range or comment expands into.  Measured here,
    openpyxl costs about 35-45 microseconds and 450-900 bytes per cell (1M cells:
    28 s, 450 MB; whole-sheet merges are where the 3.4 GB went), and the
    pre-scan about 6 microseconds.  ``verify`` reads cells itself during the
    pre-scan: the article's sheet beside 200,000 extra values verifies in about
    3 s and 100 MB (9 s and 240 MB through openpyxl); a learner's workbook has a
    few hundred cells.  The same ceiling
    applies to ``<row>`` elements, which become RowDimension objects."""

    max_sheet_area: int = 1_000_000
    """Rows x columns of a sheet's used range (A1 to the farthest cell, merge or
    claimed dimension).  Code that iterates ``ws.iter_rows()`` creates a cell
    for every coordinate in that box; the ``formulas`` engine does exactly
    that, so one cell at XFD1048576 means 17 billion cells."""

    max_text_chars: int = 1_000_000
    """Characters in one string (a shared string, inline string, formula or any
    other text run).  Excel itself stops at 32,767 characters per cell, so a
    longer string never comes from Excel."""

    max_xml_elements: int = 1_500_000
    """XML elements over all parts.  Bounds the time of the streaming pre-scan
    (about 4 microseconds per element) and the element trees openpyxl builds
    for parts it reads whole; a sheet at ``max_cells`` needs about 500,000."""

    max_xml_depth: int = 100
    """Element nesting depth.  Real parts nest fewer than 20 levels; openpyxl's
    recursive ``from_tree`` would hit Python's recursion limit on deep input."""

    max_shared_formula_chars: int = 2_000_000
    """Characters openpyxl re-tokenises to fill shared formulas: every cell
    that shares a formula costs the length of the master formula (openpyxl's
    Translator runs at about 3 microseconds per character here).  Without it
    one long master shared by 200,000 cells would take hours; 2M characters
    is ~50,000 filled-down formulas of 40 characters, about 6 s."""

    max_merge_link_pairs: int = 20_000
    """Hyperlinks inside merged ranges times merged ranges, per sheet.
    openpyxl moves each such hyperlink to its merge's top-left cell by testing
    every merged range in turn, parsing range strings each time (~100
    microseconds per test here): 300 of each took 6 s, 2,000 of each 91 s.
    At this ceiling the search costs at most ~3 s; hyperlinks elsewhere and
    merges without hyperlinks are not limited by it."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


DEFAULT_LIMITS: Final = Limits()

LIMITS_ENV: Final = "SHEETGEN_LIMITS"
"""Environment variable raising (or lowering) limits: ``max_cells=1000000,max_file_bytes=2e8``."""


def configured_limits(options: Iterable[str] = ()) -> Limits:
    """The default limits, changed by ``SHEETGEN_LIMITS`` and then by ``options``.

    Each option reads ``name=value`` (``max_cells=1000000``); for users who know their files
    and accept the time and memory a larger one costs.
    """
    env = os.environ.get(LIMITS_ENV, "")
    changes: dict[str, Any] = {}
    for item in [*filter(None, env.split(",")), *options]:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in Limits.__dataclass_fields__:
            known = ", ".join(Limits.__dataclass_fields__)
            raise UsageError(
                f"Unknown limit {item.strip()!r}; use name=value with one of: {known}."
            )
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"The limit {name} needs a number, not {value.strip()!r}.") from None
        if not number > 0 or number != number or number == float("inf"):
            raise UsageError(f"The limit {name} must be a positive number, not {value.strip()}.")
        changes[name] = number if name == "max_ratio" else int(number)
    return replace(DEFAULT_LIMITS, **changes) if changes else DEFAULT_LIMITS


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
    """A workbook's cells and formulas (``sheetgen.book``) with the facts found vetting it."""

    book: Book
    facts: FileFacts


# --------------------------------------------------------------------------
# Messages


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _show(text: str, limit: int = 80) -> str:
    """Make attacker-chosen text safe to print inside one sentence.

    Control characters (terminal escapes, newlines, bidi overrides) are shown as
    escapes and long names are cut, so a message stays one readable line.
    """
    shown = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(shown) > limit:
        shown = shown[: limit - 1] + "\u2026"
    return shown


def _file_label(path: Path) -> str:
    return _show(str(path) or path.name, 160)  # as the user typed it: many learners share a name


def _describe(exc: BaseException) -> str:
    """One short line naming an exception, for the tail of a sentence."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    kind = type(exc).__name__
    return _show(f"{kind}: {text}" if text else kind, 120)


def _count(n: int) -> str:
    return f"{n:,}"


def _raise(name: str, needed: float | None = None) -> str:
    """How a user who trusts the file gets past the limit ``name`` (the end of a sentence)."""
    value = f"{needed:g}" if needed is not None else "N"
    return f" (the limit {name}; a file you trust passes with --limit {name}={value})"


# --------------------------------------------------------------------------
# Reading the file


_READ_CHUNK: Final = 1 * _MB


def _describe_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _require_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    what = _describe_mode(mode)
    via = " (through a symbolic link)" if path.is_symlink() else ""
    raise UnsafeFileError(f"{_file_label(path)} is {what}{via}, not a workbook file.")


def _read_input(path: Path, limits: Limits) -> bytes:
    """Read the whole file, refusing anything but a bounded regular file.

    ``os.stat`` follows symbolic links, so a link to ``/dev/zero`` is refused
    before it is ever opened.  The file is then opened non-blocking (a FIFO
    swapped in after the stat cannot hang us) and checked again with ``fstat``
    on the open descriptor, and never more than ``max_file_bytes + 1`` bytes
    are read, whatever the size claimed.
    """
    label = _file_label(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(f"{label} does not exist.") from None
    except PermissionError:
        raise InputFileError(f"{label} cannot be read (permission denied).") from None
    except OSError as exc:
        raise InputFileError(f"{label} cannot be read ({_show(exc.strerror or '')}).") from None
    _require_regular(path, info.st_mode)
    _check_size(label, info.st_size, limits)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFileError(f"{label} cannot be opened ({_show(exc.strerror or '')}).") from None
    try:
        opened = os.fstat(fd)
        _require_regular(path, opened.st_mode)
        _check_size(label, opened.st_size, limits)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, _READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            _check_size(label, total, limits)
            chunks.append(chunk)
    except OSError as exc:
        raise InputFileError(f"{label} cannot be read ({_show(exc.strerror or '')}).") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _check_size(label: str, size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise UnsafeFileError(
            f"{label} is larger than the limit of {_count(limits.max_file_bytes)} bytes"
            f"{_raise('max_file_bytes', size)}."
        )


# --------------------------------------------------------------------------
# Container recognition and zip directory checks


_CFB_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC: Final = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"
_EOCD: Final = b"PK\x05\x06"
_ZIP64_LOCATOR: Final = b"PK\x06\x07"
_ZIP64_EOCD: Final = b"PK\x06\x06"
_CENTRAL_HEADER: Final = b"PK\x01\x02"

_ALLOWED_METHODS: Final = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES: Final = {
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "LZMA",
    9: "Deflate64",
    93: "Zstandard",
    98: "PPMd",
    99: "AES-encrypted",
}


def _not_a_zip_message(label: str, data: bytes, accepted: Iterable[str] = ("xlsx",)) -> str:
    """The sentence for a file that is no zip archive, naming what the command reads
    (``accepted``: the container kinds, as for :func:`_vet`)."""
    reads_ods = "ods" in accepted
    wanted = "an .xlsx, .xlsm or .ods workbook" if reads_ods else "an .xlsx or .xlsm workbook"
    if data.startswith(_CFB_MAGIC):
        return (
            f"{label} is password-protected (encrypted) or an old .xls workbook; "
            "save it as an unprotected .xlsx workbook and try again."
        )
    if not data:
        return f"{label} is empty, not {wanted}."
    if data.startswith(_EMPTY_ZIP_MAGIC):
        return f"{label} is an empty zip archive, not {wanted}."
    if data.startswith(b"%PDF"):
        return f"{label} is a PDF document, not {wanted}."
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<" and b"office:document" in head and b"opendocument" in head:
        remedy = "an .ods spreadsheet" if reads_ods else "an .xlsx workbook"
        return (
            f"{label} is a flat OpenDocument file (.fods), which sheetgen does not read; "
            f"save it as {remedy} (File > Save As) and try again."
        )
    if head[:1] == b"<":
        return f"{label} is an XML or HTML file, not {wanted}."
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head[:512]):
        return f"{label} is a text file (CSV?), not {wanted}."
    return f"{label} is not {wanted} (it is not a zip archive)."


def _central_directory_records(data: bytes) -> int | None:
    """Count central-directory records straight from the bytes.

    zipfile builds a ZipInfo for every record before we could look at
    ``infolist()``, and the entry count in the end record can lie (zipfile
    reads by directory *size*).  Counting record signatures in the directory
    region is a cheap upper bound taken before zipfile allocates anything.
    Returns None when no end record is found (zipfile will then refuse it).
    """
    eocd = data.rfind(_EOCD, max(0, len(data) - 22 - 0xFFFF))
    if eocd < 0 or eocd + 22 > len(data):
        return None
    cd_size = struct.unpack_from("<I", data, eocd + 12)[0]
    cd_end = eocd
    locator = eocd - 20
    if locator >= 0 and data[locator : locator + 4] == _ZIP64_LOCATOR:
        record = struct.unpack_from("<Q", data, locator + 8)[0]
        if record + 56 <= len(data) and data[record : record + 4] == _ZIP64_EOCD:
            cd_size = struct.unpack_from("<Q", data, record + 40)[0]
            cd_end = record
    cd_start = max(0, cd_end - cd_size)
    return data.count(_CENTRAL_HEADER, cd_start, cd_end)


_DRIVE = re.compile(r"[A-Za-z]:")


def _check_entry_name(label: str, info: zipfile.ZipInfo) -> None:
    """Refuse names no OPC package has and unpackers get wrong (zip slip)."""
    raw = info.orig_filename
    name = info.filename
    problem = ""
    if "\x00" in raw or _UNPRINTABLE.search(raw):
        problem = "a control character"
    elif "\\" in raw:
        problem = "a backslash"
    elif raw.startswith("/") or _DRIVE.match(raw):
        problem = "an absolute path"
    elif any(part in ("..", ".") for part in raw.split("/")):
        problem = "a '..' or '.' path component"
    elif "//" in raw.rstrip("/") or not name:
        problem = "an empty path component"
    if problem:
        raise UnsafeFileError(
            f"{label} contains a zip entry named {_show(raw)!r} with {problem}, "
            "which no workbook has."
        )


def _check_directory(label: str, infos: list[zipfile.ZipInfo], limits: Limits) -> int:
    """Check names, methods and declared sizes; return the declared total."""
    if len(infos) > limits.max_entries:
        raise UnsafeFileError(
            f"{label} has {_count(len(infos))} zip entries, "
            f"more than the limit of {_count(limits.max_entries)}"
            f"{_raise('max_entries', len(infos))}."
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        _check_entry_name(label, info)
        folded = info.filename.casefold()
        if folded in seen:
            raise UnsafeFileError(
                f"{label} contains the zip entry {_show(info.filename)!r} twice "
                "(names must be unique, ignoring case)."
            )
        seen.add(folded)
        part = _show(info.filename)
        if info.flag_bits & 0x1:
            raise InputFileError(
                f"{label} has encrypted zip entries ({part}); "
                "save it as an unprotected .xlsx workbook and try again."
            )
        if info.compress_type not in _ALLOWED_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise UnsafeFileError(
                f"{label} stores {part} with {method} compression, which Excel never "
                "uses (only stored and deflate are accepted)."
            )
        if info.file_size > limits.max_entry_bytes:
            raise UnsafeFileError(
                f"{label} has a part ({part}) that inflates to {_count(info.file_size)} "
                f"bytes, more than the limit of {_count(limits.max_entry_bytes)} "
                f"(a possible zip bomb){_raise('max_entry_bytes', info.file_size)}."
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeFileError(
                f"{label} inflates to more than {_count(limits.max_total_bytes)} bytes "
                f"in total (a possible zip bomb){_raise('max_total_bytes')}."
            )
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UnsafeFileError(
                f"{label} has a part ({part}) compressed {ratio:,.0f} to 1, "
                f"beyond the limit of {limits.max_ratio:,.0f} to 1 (a possible zip bomb)"
                f"{_raise('max_ratio', float(int(ratio) + 1))}."
            )
    return total


_ODS_MIMETYPE: Final = b"application/vnd.oasis.opendocument."


def _container_kind(zf: zipfile.ZipFile, names: set[str]) -> str:
    """Name the kind of zip container: 'xlsx', or a description of what it is."""
    if "mimetype" in names:
        info = zf.getinfo("mimetype")
        with zf.open(info) as f:
            mimetype = f.read(100)
        if mimetype.startswith(_ODS_MIMETYPE):
            kind = mimetype[len(_ODS_MIMETYPE) :].split(b"-")[0]
            if kind == b"spreadsheet":
                return "ods"
            if kind == b"text":
                return "an OpenDocument text document (.odt)"
            if kind == b"presentation":
                return "an OpenDocument presentation (.odp)"
            return "an OpenDocument file"
        if mimetype.startswith(b"application/epub"):
            return "an EPUB e-book"
    lowered = {n.lower() for n in names}
    has_types = "[content_types].xml" in lowered
    if has_types and "xl/workbook.bin" in lowered:
        return "a binary .xlsb workbook"
    if has_types and any(
        n.startswith("xl/") and "workbook" in n and n.endswith(".xml") for n in lowered
    ):
        return "xlsx"
    if any(n.startswith("word/") for n in lowered):
        return "a Word document (.docx)"
    if any(n.startswith("ppt/") for n in lowered):
        return "a PowerPoint presentation (.pptx)"
    if any(n.startswith("visio/") for n in lowered):
        return "a Visio drawing"
    return "a zip archive"


# --------------------------------------------------------------------------
# Streaming inflate and XML scan


_INFLATE_CHUNK: Final = 256 * 1024
_EXPAT_BUFFER: Final = 64 * 1024
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_COL_REF = re.compile(r"\$?([A-Za-z]{1,3})")
_ROW_REF = re.compile(r"\$?([0-9]{1,7})")
# Elements openpyxl expands into one cell object per covered coordinate.
_EXPANDING: Final = frozenset({"mergeCell", "hyperlink", "comment"})
# Elements whose attributes the scan looks at (beyond rows and cells).
_NOTABLE: Final = _EXPANDING | {"dimension", "worksheet", "Relationship", "f"}
# Containers whose text openpyxl joins into one string.
_STRING_ITEMS: Final = frozenset({"si", "is", "c", "comment", "text"})


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


class _Budget:
    """Counters shared by every part of one file."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.elements = 0
        self.cells = 0
        self.rows = 0
        self.worksheets = 0
        self.inflated = 0
        self.formula_work = 0


class Listener(Protocol):
    """Takes the elements a scan sees (local names, namespaces dropped) as it sees them."""

    def start(self, local: str, attrs: dict[str, str]) -> None: ...

    def end(self, local: str) -> None: ...

    def text(self, data: str) -> None: ...


class _XmlScan:
    """A streaming, non-building pass over one XML part with expat.

    Only counters are kept, so memory stays at expat's buffer plus one chunk
    however large the part.  Expat never sees more than ``raw_gap`` bytes
    without a ``>``, which bounds how much it buffers for one tag; DTDs and
    entity declarations are refused on sight (no expansion ever happens).
    """

    def __init__(
        self, label: str, part: str, budget: _Budget, listener: Listener | None = None
    ) -> None:
        self.label = label
        self.listener = listener
        self.part = part
        self.shown = _show(part)
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
        self.raw_gap_limit = 8 * limits.max_text_chars + 2 * _INFLATE_CHUNK
        self.raw_gap = 0
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
        if inside * len(merges) > self.max_pairs:
            raise UnsafeFileError(
                f"{self.label} has {_count(inside)} hyperlinks inside "
                f"{_count(len(merges))} merged ranges in {self.shown}, more than openpyxl "
                f"can sort out in reasonable time{_raise('max_merge_link_pairs')}."
            )

    def feed(self, chunk: bytes, final: bool = False) -> None:
        gt = chunk.rfind(b">")
        self.raw_gap = self.raw_gap + len(chunk) if gt < 0 else len(chunk) - gt - 1
        if self.raw_gap > self.raw_gap_limit:
            self._too_much_text()
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            reason = expat.ErrorString(exc.code) if exc.code else str(exc)
            raise InputFileError(
                f"{self.label} is damaged: part {self.shown} is not well-formed XML "
                f"({_show(reason)} at line {exc.lineno})."
            ) from None

    # --- refusals

    def _entity(self, *_args: object) -> None:
        raise UnsafeFileError(
            f"{self.label} contains an XML entity declaration in {self.shown} "
            "(a possible XML bomb)."
        )

    def _doctype_start(self, *_args: object) -> None:
        # Entities are declared inside the DTD; let expat report them first so
        # the message names the real danger, and refuse the DTD at its end.
        return None

    def _doctype_end(self) -> None:
        raise UnsafeFileError(
            f"{self.label} contains an XML document type declaration in {self.shown}, "
            "which workbooks never have (a possible XML bomb)."
        )

    def _external(self, *_args: object) -> int:
        raise UnsafeFileError(
            f"{self.label} contains an external XML entity reference in {self.shown} "
            "(a possible XML bomb)."
        )

    def _too_much_text(self) -> NoReturn:
        raise UnsafeFileError(
            f"{self.label} has a string in {self.shown} longer than "
            f"{_count(self.max_text)} characters{_raise('max_text_chars')}."
        )

    def _too_many(self, what: str, limit: int, name: str = "max_cells") -> NoReturn:
        raise UnsafeFileError(f"{self.label} has more than {_count(limit)} {what}{_raise(name)}.")

    # --- handlers (the hot path: keep attribute lookups and calls to a minimum)

    def _limit_breached(self) -> NoReturn:
        if self.elements > self.max_elements:
            self._too_many("XML elements", self.max_elements, "max_xml_elements")
        raise UnsafeFileError(
            f"{self.label} nests XML elements in {self.shown} more than "
            f"{self.max_depth} levels deep{_raise('max_xml_depth')}."
        )

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if self.listener is not None:
            self.listener.start(name[name.find(":") + 1 :], attrs)
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
        local = name[name.find(":") + 1 :]
        if local == "row":
            self._row(attrs.get("r"), depth)
        elif self.item_depth == 0 and local in _STRING_ITEMS:
            self.item_depth = depth
        if local in _NOTABLE:
            self._notable(local, attrs, depth)

    def _end(self, name: str) -> None:
        if self.listener is not None:
            self.listener.end(name[name.find(":") + 1 :])
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
            self._too_much_text()
        if self.listener is not None:
            self.listener.text(data)

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
            raise UnsafeFileError(
                f"{self.label} shares formulas over too many cells: filling them in "
                f"would mean rewriting more than {_count(self.max_formula_work)} characters"
                f"{_raise('max_shared_formula_chars')}."
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
                self._bad_ref(ref)

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
            match = _CELL_REF.fullmatch(ref)
            if match is None:
                self._bad_ref(ref)
            self.col = _column_index(match.group(1))
            self._grow(row, self.col)
            if self.col == self.max_col:
                self.max_letters = match.group(1).upper()
                self.max_letters_len = len(self.max_letters)

    def _grow(self, row: int, col: int) -> None:
        """Widen this sheet's used box and refuse it once it is too large."""
        if row > EXCEL_MAX_ROW or col > EXCEL_MAX_COL or row < 1:
            raise UnsafeFileError(
                f"{self.label} refers to a cell outside Excel's grid in {self.shown}."
            )
        if row > self.max_row or col > self.max_col:
            self.max_row = max(self.max_row, row)
            self.max_col = max(self.max_col, col)
            if self.max_row * self.max_col > self.max_area:
                raise UnsafeFileError(
                    f"{self.label} uses the range A1:{_cell_name(self.max_row, self.max_col)} "
                    f"in {self.shown}, more than the limit of {_count(self.max_area)} "
                    f"cells per sheet{_raise('max_sheet_area', self.max_row * self.max_col)}."
                )

    def _bad_ref(self, ref: str) -> NoReturn:
        raise InputFileError(
            f"{self.label} is damaged: {self.shown} has an invalid cell reference "
            f"{_show(ref, 40)!r}."
        )

    def _range(self, ref: str) -> tuple[int, int, int, int]:
        """(min_row, min_col, max_row, max_col) of A1, A1:B2, A:C or 1:3 forms."""
        first, _, last = ref.partition(":")
        last = last or first
        bounds: list[tuple[int, int]] = []
        for corner in (first, last):
            cell = _CELL_REF.fullmatch(corner)
            if cell:
                bounds.append((int(cell.group(2)), _column_index(cell.group(1))))
                continue
            col = _COL_REF.fullmatch(corner)
            if col and ":" in ref:
                bounds.append((-1, _column_index(col.group(1))))
                continue
            row = _ROW_REF.fullmatch(corner)
            if row and ":" in ref:
                bounds.append((int(row.group(1)), -1))
                continue
            self._bad_ref(ref)
        (r1, c1), (r2, c2) = bounds
        # Whole columns or rows: openpyxl would expand them to the sheet's edge.
        if r1 < 0 or r2 < 0:
            r1, r2 = 1, EXCEL_MAX_ROW
        if c1 < 0 or c2 < 0:
            c1, c2 = 1, EXCEL_MAX_COL
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


def _cell_name(row: int, col: int) -> str:
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def _looks_like_xml(name: str, head: bytes) -> bool:
    """Decide whether a part is XML from its name or its first bytes.

    The sniff matters because relationships can point openpyxl at a part with
    any name; whatever starts like XML is scanned before openpyxl may parse it.
    """
    if name.lower().endswith((".xml", ".rels", ".vml")):
        return True
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def _wide(head: bytes) -> bool:
    """UTF-16 (or NUL-padded) XML, whose declarations a byte search would not see."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]


class _DeclarationSniff:
    """For XML no one will parse: refuse the declarations an XML bomb needs, all the same.

    A part that is only inflated and measured cannot explode, but a file carrying a bomb is
    hostile and is told so wherever the bomb sits; a byte search costs next to nothing.
    """

    def __init__(self, label: str, part: str) -> None:
        self.label = label
        self.shown = _show(part)
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        window = self.tail + chunk
        if b"<!ENTITY" in window:
            raise UnsafeFileError(
                f"{self.label} contains an XML entity declaration in {self.shown} "
                "(a possible XML bomb)."
            )
        if b"<!DOCTYPE" in window:
            raise UnsafeFileError(
                f"{self.label} contains an XML document type declaration in {self.shown}, "
                "which workbooks never have (a possible XML bomb)."
            )
        self.tail = window[-16:]


def _scan_entries(
    label: str,
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    budget: _Budget,
    parsed: Callable[[str], bool] | None = None,
    listeners: Callable[[str], Listener | None] | None = None,
) -> dict[str, list[str]]:
    """Inflate every entry in chunks, never past its declared size, scanning XML.

    ``parsed``: which parts will be parsed at all (default: any, as openpyxl may); the
    XML of the others is not scanned, only inflated and measured. ``listeners(part)``: who
    else takes the elements of a scanned part (a reader, so the part is parsed once).
    Returns the external-link targets found, keyed by link rels part.
    """
    limits = budget.limits
    links: dict[str, list[str]] = {}
    for info in infos:
        if info.is_dir():
            continue
        scan: _XmlScan | None = None
        sniff: _DeclarationSniff | None = None
        seen = 0
        try:
            with zf.open(info) as stream:
                first = True
                while True:
                    chunk = stream.read(_INFLATE_CHUNK)
                    seen += len(chunk)
                    budget.inflated += len(chunk)
                    if seen > info.file_size or seen > limits.max_entry_bytes:
                        raise UnsafeFileError(
                            f"{label} has a part ({_show(info.filename)}) that inflates past "
                            "its declared size (a forged zip header)."
                        )
                    if budget.inflated > limits.max_total_bytes:
                        raise UnsafeFileError(
                            f"{label} inflates to more than {_count(limits.max_total_bytes)} "
                            "bytes in total (a possible zip bomb)."
                        )
                    if first:
                        first = False
                        if not _looks_like_xml(info.filename, chunk):
                            pass
                        elif parsed is None or parsed(info.filename) or _wide(chunk):
                            listener = listeners(info.filename) if listeners else None
                            scan = _XmlScan(label, info.filename, budget, listener)
                        else:
                            sniff = _DeclarationSniff(label, info.filename)
                    if scan is not None:
                        scan.feed(chunk, final=not chunk)
                    elif sniff is not None:
                        sniff.feed(chunk)
                    if not chunk:
                        break
            if scan is not None:
                scan.close()
        except (SheetgenError, ReadError):
            raise
        except Exception as exc:
            raise InputFileError(
                f"{label} is a damaged zip archive: part {_show(info.filename)} cannot be "
                f"inflated ({_describe(exc)})."
            ) from exc
        if seen != info.file_size:
            raise InputFileError(
                f"{label} is a damaged zip archive: part {_show(info.filename)} is shorter "
                "than its header says."
            )
        if scan is not None and scan.link_targets:
            links[info.filename] = scan.link_targets
    return links


# --------------------------------------------------------------------------
# Public API


def _macro_parts(names: list[str]) -> bool:
    """A VBA project or an Excel 4 macro sheet: code, not a content type that merely allows it.

    LibreOffice saves an .xlsm without any macro part (and a macro-enabled content type);
    that file has nothing to warn about.
    """
    for name in names:
        low = name.lower()
        if low.endswith("vbaproject.bin") or low.startswith("xl/macrosheets/"):
            return True
    return False


@dataclass(frozen=True)
class _Reading:
    """How one container kind is read: which parts are parsed, who takes their events."""

    parsed: Callable[[str], bool]
    listeners: Callable[[str], Listener | None]


def _vet(
    path: Path,
    data: bytes,
    limits: Limits,
    readings: Mapping[str, _Reading | None] | None = None,
) -> FileFacts:
    """Everything :func:`check_file` does, on bytes already read.

    ``readings``: the container kinds accepted ("xlsx", "ods") and how each is read (its
    ``parsed`` and ``listeners``: see :func:`_scan_entries`); by default only .xlsx, every
    XML part parsed (openpyxl may read any).
    """
    label = _file_label(path)
    if not data.startswith(_ZIP_MAGIC):
        message = _not_a_zip_message(label, data, readings or ("xlsx",))
        raise InputFileError(message)
    records = _central_directory_records(data)
    if records is not None and records > limits.max_entries:
        raise UnsafeFileError(
            f"{label} has {_count(records)} zip entries, "
            f"more than the limit of {_count(limits.max_entries)}{_raise('max_entries', records)}."
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise InputFileError(
            f"{label} is a damaged zip archive and cannot be read ({_describe(exc)})."
        ) from exc
    with zf:
        infos = zf.infolist()
        declared = _check_directory(label, infos, limits)
        names = [info.filename for info in infos]
        try:
            kind = _container_kind(zf, set(names))
        except Exception as exc:
            raise InputFileError(
                f"{label} is a damaged zip archive and cannot be read ({_describe(exc)})."
            ) from exc
        accepted = readings if readings is not None else {"xlsx": None}
        if kind not in accepted:
            raise InputFileError(_other_kind(label, kind, accepted))
        reading = accepted[kind]
        if kind == "ods" and _encrypted_ods(zf, infos):
            raise InputFileError(
                f"{label} is password-protected (encrypted); save it without a password "
                "and try again."
            )
        parsed = reading.parsed if reading is not None else None
        listeners = reading.listeners if reading is not None else None
        budget = _Budget(limits)
        link_targets = _scan_entries(label, zf, infos, budget, parsed, listeners)
    has_macros = _macro_parts(names) if kind == "xlsx" else macro_parts(names)
    links: list[str] = []
    for name in sorted(names):
        low = name.lower()
        if low.startswith("xl/externallinks/") and low.endswith(".xml") and low.count("/") == 2:
            rels = f"xl/externalLinks/_rels/{name.rsplit('/', 1)[1]}.rels".lower()
            targets = [t for key, ts in link_targets.items() if key.lower() == rels for t in ts]
            links.extend(targets or [name])
    return FileFacts(
        path=path,
        kind=kind,
        size_bytes=len(data),
        entries=len(infos),
        uncompressed_bytes=declared,
        xml_elements=budget.elements,
        worksheets=budget.worksheets,
        cells=budget.cells,
        rows=budget.rows,
        has_macros=has_macros,
        external_links=tuple(links),
    )


def _encrypted_ods(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> bool:
    """Whether an .ods manifest lists encrypted parts (a byte search; the size is bounded)."""
    for info in infos:
        if info.filename == "META-INF/manifest.xml" and info.file_size <= _READ_CHUNK:
            with zf.open(info) as f:
                return b"encryption-data" in f.read(_READ_CHUNK + 1)
    return False


def _other_kind(label: str, kind: str, accepted: Iterable[str]) -> str:
    """The sentence for a file of a kind this command does not read."""
    if "ods" in accepted:
        return (
            f"{label} is {kind}, not a spreadsheet; sheetgen reads .xlsx, .xlsm and .ods workbooks."
        )
    if kind == "ods":
        return (
            f"{label} is an OpenDocument spreadsheet (.ods), not an .xlsx workbook; "
            "this command writes .xlsx, so save it as .xlsx first (File > Save As)."
        )
    return f"{label} is {kind}, not an .xlsx workbook."


def check_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> FileFacts:
    """Vet ``path`` without handing it to any parser that builds objects.

    Raises :class:`UnsafeFileError` for hostile input or a breached limit and
    :class:`InputFileError` for anything else that is not a readable .xlsx
    workbook (missing, encrypted, another format, damaged).  The file is only
    read, never modified.
    """
    data = _read_input(path, limits)
    return _vet(path, data, limits)


def load_checked(path: Path, limits: Limits = DEFAULT_LIMITS) -> CheckedWorkbook:
    """Vet ``path`` and load the very bytes that were vetted with openpyxl.

    openpyxl gets the bytes from memory, so the file cannot be replaced between
    the check and the load.  It runs with ``keep_vba=False`` and
    ``keep_links=False`` so macros and linked workbooks are never loaded, and
    with defusedxml active (refused otherwise).  Every exception it raises
    becomes one :class:`InputFileError` sentence.
    """
    import openpyxl

    label = _file_label(path)
    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise UnsafeFileError(
            f"{label} was not opened because openpyxl is running without defusedxml "
            "(install defusedxml and unset OPENPYXL_DEFUSEDXML)."
        )
    data = _read_input(path, limits)
    facts = _vet(path, data, limits)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about every extension it drops; the user cannot act
            # on those, and the CLI must print one sentence only.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(
                io.BytesIO(data),
                read_only=False,
                data_only=False,
                keep_vba=False,
                keep_links=False,
            )
    except MemoryError:
        raise UnsafeFileError(f"{label} needs more memory to load than is available.") from None
    except RecursionError:
        raise UnsafeFileError(f"{label} is nested too deeply to be read.") from None
    except Exception as exc:
        if type(exc).__module__.startswith("defusedxml"):
            raise UnsafeFileError(
                f"{label} contains an XML entity declaration (a possible XML bomb)."
            ) from exc
        raise InputFileError(
            f"{label} could not be read as an .xlsx workbook ({_describe(exc)})."
        ) from exc
    return CheckedWorkbook(workbook=workbook, facts=facts, data=data)


def read_checked(path: Path, limits: Limits = DEFAULT_LIMITS) -> CheckedBook:
    """Vet ``path`` and read the very bytes that were vetted with ``sheetgen.reader``.

    What ``verify`` reads: cells, formulas and defined names only, no object model. Every
    exception the reader raises becomes one :class:`InputFileError` sentence.
    """
    label = _file_label(path)
    data = _read_input(path, limits)
    sheets: dict[str, SheetCapture] = {}
    content = ContentCapture(label, limits.max_cells, limits.max_sheet_area)

    def capture(part: str) -> SheetCapture | None:
        if not captures(part):
            return None
        sheets[part] = SheetCapture()  # the worksheet is read by the pass that vets it
        return sheets[part]

    def capture_content(part: str) -> ContentCapture | None:
        return content if ods_reads(part) else None

    readings = {"xlsx": _Reading(reads, capture), "ods": _Reading(ods_reads, capture_content)}
    what = "an .xlsx workbook"
    try:
        facts = _vet(path, data, limits, readings)
        if facts.kind == "ods":
            what = "an .ods spreadsheet"
            book = read_ods(data, content)
            found = content.facts
            facts = replace(
                facts,
                cells=found.cells,
                rows=found.rows,
                worksheets=len(book.sheets),
                has_macros=facts.has_macros or found.event_listeners,
                external_links=tuple(_show(link) for link in found.links),
            )
        else:
            book = read_book(data, sheets)
    except SheetgenError:
        raise
    except MemoryError:
        raise UnsafeFileError(f"{label} needs more memory to load than is available.") from None
    except RecursionError:
        raise UnsafeFileError(f"{label} is nested too deeply to be read.") from None
    except Exception as exc:
        raise InputFileError(f"{label} could not be read as {what} ({_describe(exc)}).") from exc
    return CheckedBook(book=book, facts=facts)


def open_workbook(path: Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Vet ``path`` (see :func:`check_file`) and return the openpyxl Workbook.

    Formulas are kept as text (``data_only=False``); pass them through
    :func:`formula_hazards` before evaluating any.
    """
    return load_checked(path, limits).workbook


# --------------------------------------------------------------------------
# Formula hazards


EXTERNAL_REFERENCE: Final = "external-reference"
DDE: Final = "dde"

# Functions that reach outside the workbook, run code, or build references at
# run time (which may then point outside the workbook).
_HAZARD_FUNCTIONS: Final = {
    "WEBSERVICE": "webservice",
    "FILTERXML": "filterxml",
    "HYPERLINK": "hyperlink",
    "CALL": "call",
    "REGISTER.ID": "register-id",
    "REGISTER": "register-id",
    "INDIRECT": "indirect",
    "RTD": "rtd",
    "IMAGE": "image",
    "DDE": DDE,
    "DDEAUTO": DDE,
    "EXEC": "exec",
    "EXECUTE": "exec",
    "EVALUATE": "evaluate",
}

HAZARD_DESCRIPTIONS: Final = {
    EXTERNAL_REFERENCE: "refers to another workbook or file",
    DDE: "is a DDE link, which can start programs",
    "webservice": "fetches data from the web (WEBSERVICE)",
    "filterxml": "parses XML (FILTERXML)",
    "hyperlink": "builds a hyperlink (HYPERLINK)",
    "call": "calls a DLL function (CALL)",
    "register-id": "registers a DLL function (REGISTER.ID)",
    "indirect": "builds a reference from text at run time (INDIRECT)",
    "rtd": "talks to a real-time data server (RTD)",
    "image": "downloads an image from the web (IMAGE)",
    "exec": "runs a program (EXEC)",
    "evaluate": "evaluates text as a formula (EVALUATE)",
}

_FUNCTION_CALL = re.compile(
    r"(?<![A-Za-z0-9_.\\])(?:_xl[a-z]+\.)*([A-Za-z][A-Za-z0-9_.]*)\s*\(", re.IGNORECASE
)
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.\\\u00c0-\uffff]")
_EXTERNAL_NAME_MARKS = re.compile(r"[\[\]\\/]|^[A-Za-z]:|://|^file:", re.IGNORECASE)


def _split_formula(formula: str) -> tuple[str, list[str], bool]:
    """Blank string literals and quoted names out of a formula.

    Returns the formula with every ``"..."`` literal replaced by ``""`` and every
    ``'...'`` name by ``''`` (so nothing inside them can look like a call), the
    quoted names themselves (they are where external paths hide), and whether
    a bracket group looks like an external-workbook index such as ``[1]``.
    """
    out: list[str] = []
    names: list[str] = []
    external = False
    last = ""  # the last non-blank character emitted
    i, n = 0, len(formula)
    while i < n:
        ch = formula[i]
        if ch in "\"'":
            j = i + 1
            buf: list[str] = []
            while j < n:
                if formula[j] == ch:
                    if j + 1 < n and formula[j + 1] == ch:
                        buf.append(ch)
                        j += 2
                        continue
                    break
                buf.append(formula[j])
                j += 1
            # After '|' a quoted text is a DDE topic (flagged as DDE), not a name.
            if ch == "'" and last != "|":
                names.append("".join(buf))
            out.append(ch + ch)
            last = ch
            i = j + 1
        elif ch == "[":
            # Balanced bracket group: a structured reference (Table1[Col],
            # [@Col], [[#This Row],[Col]]) or an external index ([1]Sheet!A1).
            depth, j = 0, i
            while j < n:
                if formula[j] == "[":
                    depth += 1
                elif formula[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            inner = formula[i + 1 : j]
            attached = bool(out) and bool(_NAME_CHAR.fullmatch(out[-1][-1:] or " "))
            after = formula[j + 1 : j + 2]
            if (
                not attached
                and not inner.startswith(("@", "#", "["))
                and (after == "!" or bool(_NAME_CHAR.fullmatch(after or " ")) or after == "'")
            ):
                external = True
            out.append("[]")
            last = "]"
            i = j + 1
        else:
            out.append(ch)
            if not ch.isspace():
                last = ch
            i += 1
    return "".join(out), names, external


def formula_hazards(formula: str) -> list[str]:
    """Classify formula text the verifier must not evaluate; [] means harmless.

    Returns hazard codes (keys of :data:`HAZARD_DESCRIPTIONS`) in a stable
    order: ``external-reference`` for ``[1]Sheet1!A1``, ``'C:\\d\\[b.xlsx]S'!A1``
    or ``'file:///...'!A1``; ``dde`` for ``cmd|' /C calc'!A0``; one code per
    dangerous function (WEBSERVICE, FILTERXML, HYPERLINK, CALL, REGISTER.ID,
    INDIRECT, RTD, IMAGE, EXEC, EVALUATE) in any case, with or without
    ``_xlfn.`` prefixes.  Text inside string literals never counts (so
    ``="INDIRECT("`` is harmless), but INDIRECT and HYPERLINK are flagged
    whatever their argument, because the argument is built at run time.
    Never raises, whatever the text.
    """
    return list(_hazards_of(formula))


@functools.lru_cache(maxsize=4096)
def _hazards_of(formula: str) -> tuple[str, ...]:
    """By text (a class repeats its formulas), then by shape (a sheet fills them down)."""
    if not any(ch in formula for ch in "!:\"'["):  # no sheets, ranges, strings or links:
        formula = _PLAIN_CELL_REF.sub(_ANY_CELL, formula)  # cells make no hazard
    return _hazards(formula)


_ANY_CELL = a1.name(1, 1)  # every plain cell reference reads as this one
_PLAIN_CELL_REF = re.compile(r"(?<![\w.!$:'\"])\$?[A-Za-z]{1,3}\$?\d+(?![\w(!:])")


@functools.lru_cache(maxsize=4096)
def _hazards(formula: str) -> tuple[str, ...]:
    """:func:`formula_hazards`, remembered: a class's workbooks repeat the same formulas."""
    text, names, external = _split_formula(formula)
    found: set[str] = set()
    if external or any(_EXTERNAL_NAME_MARKS.search(name) for name in names):
        found.add(EXTERNAL_REFERENCE)
    if "|" in text:
        found.add(DDE)
    for match in _FUNCTION_CALL.finditer(text):
        code = _HAZARD_FUNCTIONS.get(match.group(1).upper())
        if code:
            found.add(code)
    order = list(HAZARD_DESCRIPTIONS)
    return tuple(sorted(found, key=order.index))
