"""The container: what the bytes are (xlsx, ods, a legacy or encrypted file, Word...) and a
zip directory that is sane (entry count, names, methods, declared sizes), as Apache POI's
ZipSecureFile checks it."""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final

from ...errors import InputFileError, UnsafeFileError
from ..hints import raise_hint, raise_hints
from .files import READ_CHUNK
from .limits import Limits
from .messages import UNPRINTABLE, count, known_as, place, resave, show

Titles = Callable[[], Mapping[str, str]]
"""The file's worksheets' titles by part in lower case (``messages.place``), read when a
refusal first asks (``vet._titles``): what a refusal names a worksheet by."""

# --------------------------------------------------------------------------
# Container recognition and zip directory checks


_CFB_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC: Final = b"PK\x03\x04"
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


def not_a_zip_message(label: str, data: bytes, accepted: Iterable[str] = ("xlsx",)) -> str:
    """The sentence for a file that is no zip archive, naming what the command reads
    (``accepted``: the container kinds, as for ``vet._vet``)."""
    accepted = tuple(accepted)
    reads_ods = "ods" in accepted
    wanted = "an .xlsx, .xlsm or .ods workbook" if reads_ods else "an .xlsx or .xlsm workbook"
    if data.startswith(_CFB_MAGIC):
        return (
            f"{label} is password-protected (encrypted) or an old .xls workbook; "
            "save it as an unprotected .xlsx workbook and try again."
        )
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<" and b"office:document" in head and b"opendocument" in head:
        remedy = "an .ods spreadsheet" if reads_ods else "an .xlsx workbook"
        return (
            f"{label} is a flat OpenDocument file (.fods), which sheetgen does not read; "
            f"save it as {remedy} (File > Save As) and try again."
        )
    if not data:
        what = f"is empty, not {wanted}"
    elif data.startswith(_EMPTY_ZIP_MAGIC):
        what = f"is an empty zip archive, not {wanted}"
    elif data.startswith(b"%PDF"):
        what = f"is a PDF document, not {wanted}"
    elif head[:1] == b"<":
        what = f"is an XML or HTML file, not {wanted}"
    elif head and all(32 <= b < 127 or b in b"\t\r\n" for b in head[:512]):
        what = f"is a text file (CSV?), not {wanted}"
    else:
        what = f"is not {wanted}"
    return f"{label} {what}; {resave(accepted)}."


def central_directory_records(data: bytes) -> int | None:
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


def _check_entry_name(label: str, info: zipfile.ZipInfo, titles: Titles) -> None:
    """Refuse names no OPC package has and unpackers get wrong (zip slip). The part is named
    as its owner knows it where that is known (a sheet saved with backslashes for slashes
    is still the sheet its workbook names), the name that is wrong beside it."""
    raw = info.orig_filename
    name = info.filename
    problem = ""
    if "\x00" in raw or UNPRINTABLE.search(raw):
        problem = "a control character"
    elif "\\" in raw:
        problem = "a backslash"
    elif raw.startswith("/") or _DRIVE.match(raw):
        problem = "an absolute path"
    elif "/./" in f"/{raw}/" or "/../" in f"/{raw}/":  # a '.' or '..' between slashes
        problem = "a '..' or '.' path component"
    elif "//" in raw.rstrip("/") or not name:
        problem = "an empty path component"
    if problem:
        known = known_as(raw.replace("\\", "/"), titles())
        raise UnsafeFileError(
            f"{label} holds {known or 'a part'} under a name with {problem} ({show(raw)!r}), "
            "which no workbook has."
        )


def _compressed_past(info: zipfile.ZipInfo, limits: Limits) -> bool:
    return info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    )


def _bomb(
    label: str, infos: list[zipfile.ZipInfo], limits: Limits, titles: Titles
) -> UnsafeFileError:
    """The refusal of a directory whose declared sizes pass ``max_entry_bytes``,
    ``max_total_bytes`` or ``max_ratio``: every one of them it passes, each with the figure
    the whole directory needs (a later part may be larger, or compressed further), so that
    one run with them all lets the file through. The first part past a limit is named, as
    its owner knows it (``messages.place``)."""
    clauses: list[str] = []
    needed: dict[str, float] = {}
    large = [info for info in infos if info.file_size > limits.max_entry_bytes]
    dense = [info for info in infos if _compressed_past(info, limits)]
    compressed = ""
    if dense:
        first = dense[0]
        ratio = first.file_size / max(first.compress_size, 1)
        highest = max(info.file_size / max(info.compress_size, 1) for info in dense)
        compressed = (
            f"compressed {ratio:,.0f} to 1, beyond the limit of {limits.max_ratio:,.0f} to 1"
        )
    if large:
        first = large[0]
        clause = (
            f"has {place(first.filename, titles())} inflating to {count(first.file_size)} "
            f"bytes, more than the limit of {count(limits.max_entry_bytes)}"
        )
        if dense and dense[0] is first:  # the part is named once, with both its figures
            clause, compressed = f"{clause} and {compressed}", ""
        clauses.append(clause)
        needed["max_entry_bytes"] = max(info.file_size for info in large)
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        clauses.append(f"inflates to more than {count(limits.max_total_bytes)} bytes in total")
        needed["max_total_bytes"] = declared
    if compressed:
        clauses.append(f"has {place(dense[0].filename, titles())} {compressed}")
    if dense:
        needed["max_ratio"] = float(int(highest) + 1)
    return UnsafeFileError(
        f"{label} {', and '.join(clauses)} (a possible zip bomb){raise_hints(needed)}."
    )


def check_directory(
    label: str, infos: list[zipfile.ZipInfo], limits: Limits, titles: Titles = dict
) -> int:
    """Check names, methods and declared sizes; return the declared total. A refusal names
    a part as the file's owner knows it: a worksheet by its title (``titles``), another part
    by what it is for (``messages.place``)."""
    if len(infos) > limits.max_entries:
        raise UnsafeFileError(
            f"{label} has {count(len(infos))} zip entries, "
            f"more than the limit of {count(limits.max_entries)}"
            f"{raise_hint('max_entries', len(infos))}."
        )
    seen: dict[str, str] = {}
    total = 0
    for info in infos:
        _check_entry_name(label, info, titles)
        folded = info.filename.casefold()
        if folded in seen:
            raise UnsafeFileError(_twice(label, seen[folded], info.filename, titles))
        seen[folded] = info.filename
        if info.flag_bits & 0x1:
            raise InputFileError(
                f"{label} has {place(info.filename, titles())} encrypted; "
                "save it as an unprotected .xlsx workbook and try again."
            )
        if info.compress_type not in _ALLOWED_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise UnsafeFileError(
                f"{label} stores {place(info.filename, titles())} with {method} compression, "
                "which Excel never uses (only stored and deflate are accepted)."
            )
        total += info.file_size
        if (
            info.file_size > limits.max_entry_bytes
            or total > limits.max_total_bytes
            or _compressed_past(info, limits)
        ):
            raise _bomb(label, infos, limits, titles)
    return total


def _twice(label: str, first: str, second: str, titles: Titles) -> str:
    """The sentence for a file holding two parts of one name (``first``, then ``second``;
    alike but for case, or the same): the part by what its owner knows it as, where known
    (``messages.known_as``), the names beside it."""
    names = repr(show(first)) if first == second else f"{show(first)!r} and {show(second)!r}"
    known = known_as(first, titles())
    said = f"holds {known} twice" if known else "holds two parts of one name"
    return (
        f"{label} {said} ({names}: the parts of a file must have different names, ignoring case)."
    )


_ODS_MIMETYPE: Final = b"application/vnd.oasis.opendocument."


def opendocument(path: Path | str) -> bool:
    """Whether ``path`` is an OpenDocument spreadsheet by its content (its ``mimetype``
    member) or its name: what a file is named does not decide what it is."""
    if Path(path).suffix.lower() in (".ods", ".ots"):
        return True
    try:
        with zipfile.ZipFile(path) as zf:
            return container_kind(zf, set(zf.namelist())) == "ods"
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError):
        return False


def container_kind(zf: zipfile.ZipFile, names: set[str]) -> str:
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
# Public API


def xlsx_macro_parts(names: list[str]) -> bool:
    """A VBA project or an Excel 4 macro sheet: code, not a content type that merely allows it.

    LibreOffice saves an .xlsm without any macro part (and a macro-enabled content type);
    that file has nothing to warn about.
    """
    for name in names:
        low = name.lower()
        if low.endswith("vbaproject.bin") or low.startswith("xl/macrosheets/"):
            return True
    return False


def encrypted_ods(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> bool:
    """Whether an .ods manifest lists encrypted parts (a byte search; the size is bounded)."""
    for info in infos:
        if info.filename == "META-INF/manifest.xml" and info.file_size <= READ_CHUNK:
            with zf.open(info) as f:
                return b"encryption-data" in f.read(READ_CHUNK + 1)
    return False


def other_kind(label: str, kind: str, accepted: Iterable[str]) -> str:
    """The sentence for a file of a kind this command does not read."""
    if "ods" in accepted:
        return f"{label} is {kind}, not a spreadsheet; {resave(accepted)}."
    if kind == "ods":
        return (
            f"{label} is an OpenDocument spreadsheet (.ods), not an .xlsx workbook; "
            "this command writes .xlsx, so save it as .xlsx first (File > Save As)."
        )
    return f"{label} is {kind}, not an .xlsx workbook; {resave(accepted)}."
