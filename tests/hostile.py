"""Make small hostile .xlsx files for the safety tests, streamed, never huge.

Every builder writes one file into a directory and returns its path.  Bombs are
built from deflate blocks that are computed once and repeated (after a full
flush the compressor state is reset, so an identical input block compresses to
identical bytes), so a sheet that inflates to 1.1 GB costs about 1 MB on disk
and well under a second to make.  A tiny raw zip writer lets a test put any
value into the headers, including lies, which ``zipfile`` would refuse to write.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
from openpyxl.workbook.defined_name import DefinedName

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class RawEntry:
    """One zip entry exactly as it goes on disk; sizes and CRC may lie."""

    name: str
    payload: bytes  # already compressed with ``method``
    method: int
    crc: int
    size: int  # uncompressed size written into both headers
    flags: int = 0


def stored(name: str, data: bytes) -> RawEntry:
    return RawEntry(name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


def deflated(name: str, data: bytes) -> RawEntry:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return RawEntry(
        name, c.compress(data) + c.flush(), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)
    )


def write_raw_zip(path: Path, entries: Iterable[RawEntry]) -> Path:
    """Write a zip (no zip64, so every size < 4 GiB) with headers as given."""
    out = io.BytesIO()
    central = io.BytesIO()
    count = 0
    dos_time, dos_date = 0, (2024 - 1980) << 9 | 1 << 5 | 1
    for e in entries:
        name = e.name.encode("utf-8")
        offset = out.tell()
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                e.flags,
                e.method,
                dos_time,
                dos_date,
                e.crc,
                len(e.payload),
                e.size,
                len(name),
                0,
            )
        )
        out.write(name)
        out.write(e.payload)
        central.write(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                e.flags,
                e.method,
                dos_time,
                dos_date,
                e.crc,
                len(e.payload),
                e.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.write(name)
        count += 1
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(
        struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count & 0xFFFF, count & 0xFFFF, len(cd), start, 0
        )
    )
    path.write_bytes(out.getvalue())
    return path


def repeated_deflate(prefix: bytes, unit: bytes, count: int, suffix: bytes) -> RawEntry:
    """Deflate ``prefix + unit * count + suffix`` in time independent of ``count``."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(suffix) + c.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(unit, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + len(unit) * count + len(suffix)
    return RawEntry("", head + block * count + tail, zipfile.ZIP_DEFLATED, crc, size)


# ---------------------------------------------------------------- valid base


def valid_workbook(path: Path) -> Path:
    """A small honest workbook: values, a formula, a string, a defined name."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "weight"
    ws["B1"] = 0.5
    ws["C1"] = "=B1*2"
    ws["A2"] = "bias"
    ws["B2"] = -1.25
    ws.merge_cells("A4:C4")
    wb.defined_names["rate"] = DefinedName("rate", attr_text="Data!$B$1")
    wb.save(path)
    return path


def entries_of(path: Path) -> list[RawEntry]:
    with zipfile.ZipFile(path) as zf:
        return [deflated(i.filename, zf.read(i)) for i in zf.infolist()]


def read_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rebuild(
    base: Path,
    path: Path,
    *,
    replace_parts: dict[str, bytes] | None = None,
    raw: dict[str, RawEntry] | None = None,
    drop: Iterable[str] = (),
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy ``base`` to ``path`` with parts replaced, dropped or added."""
    parts = read_parts(base)
    for name in drop:
        parts.pop(name, None)
    parts.update(replace_parts or {})
    parts.update(add or {})
    raw = raw or {}
    entries = [replace(raw[n], name=n) if n in raw else deflated(n, d) for n, d in parts.items()]
    entries += [replace(e, name=n) for n, e in raw.items() if n not in parts]
    return write_raw_zip(path, entries)


def _base(directory: Path) -> Path:
    base = directory / "_base.xlsx"
    if not base.exists():
        valid_workbook(base)
    return base


def _sheet(directory: Path) -> bytes:
    return read_parts(_base(directory))[SHEET]


def _with_shared_strings(directory: Path, path: Path, strings_entry: RawEntry) -> Path:
    """The base workbook with cell A1 pointing at shared string 0 from ``strings_entry``."""
    base = _base(directory)
    parts = read_parts(base)
    sheet = parts[SHEET].replace(
        b'<c r="A1" t="inlineStr"><is><t>weight</t></is></c>', b'<c r="A1" t="s"><v>0</v></c>'
    )
    types = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml" '
        f'Id="rId99"/></Relationships>'.encode(),
    )
    return rebuild(
        base,
        path,
        replace_parts={
            SHEET: sheet,
            "[Content_Types].xml": types,
            "xl/_rels/workbook.xml.rels": rels,
        },
        raw={STRINGS: strings_entry},
    )


def _sheet_with(
    directory: Path,
    path: Path,
    *,
    before_sheet_data: bytes = b"",
    cells: bytes = b"",
    after_sheet_data: bytes = b"",
    dimension: bytes | None = None,
    merges: bytes | None = None,
) -> Path:
    """The base sheet with XML spliced in; ``merges`` replaces its <mergeCells>.

    openpyxl keeps only the last <mergeCells> element of a sheet, so extra
    merges must go into the existing one to reach openpyxl at all.
    """
    sheet = _sheet(directory)
    if merges is not None:
        start = sheet.index(b"<mergeCells")
        end = sheet.index(b"</mergeCells>") + len(b"</mergeCells>")
        count = merges.count(b"<mergeCell ")
        block = b'<mergeCells count="%d">' % count + merges + b"</mergeCells>"
        sheet = sheet[:start] + block + sheet[end:]
    if cells:
        sheet = sheet.replace(b"</sheetData>", cells + b"</sheetData>")
    if after_sheet_data:
        sheet = sheet.replace(b"</sheetData>", b"</sheetData>" + after_sheet_data)
    if before_sheet_data:
        sheet = sheet.replace(b"<sheetData>", before_sheet_data + b"<sheetData>")
    if dimension is not None:
        start = sheet.index(b"<dimension")
        end = sheet.index(b"/>", start) + 2
        sheet = sheet[:start] + b'<dimension ref="' + dimension + b'"/>' + sheet[end:]
    return rebuild(_base(directory), path, replace_parts={SHEET: sheet})


# ---------------------------------------------------------------- bombs


def sheet_zip_bomb(directory: Path, inflated: int = 1_100_000_000) -> Path:
    """About 1 MB on disk; the sheet XML inflates to ``inflated`` bytes of blanks."""
    sheet = _sheet(directory)
    head, _, tail = sheet.partition(b"<sheetData>")
    unit = b" " * (1 << 20)
    entry = repeated_deflate(head + b"<sheetData>", unit, inflated // len(unit), tail)
    return rebuild(_base(directory), directory / "zip_bomb.xlsx", raw={SHEET: entry})


def lying_size_bomb(directory: Path, inflated: int = 200_000_000, claimed: int = 4096) -> Path:
    """The zip headers claim ``claimed`` bytes for a sheet that inflates to ``inflated``."""
    sheet = _sheet(directory)
    head, _, tail = sheet.partition(b"<sheetData>")
    unit = b" " * (1 << 20)
    entry = repeated_deflate(head + b"<sheetData>", unit, inflated // len(unit), tail)
    return rebuild(
        _base(directory), directory / "lying.xlsx", raw={SHEET: replace(entry, size=claimed)}
    )


# 2,200,000,000 zero bytes compressed with bzip2 -9 (1552 bytes).  Computing it
# takes 20 s, so it is stored; ``bzip2_bomb`` never decompresses it.
_BZIP2_ZEROS_B64 = (
    "QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakK"
    "gJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCX"
    "MUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFB"
    "WSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkm"
    "U1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZ"
    "Dgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J"
    "4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLf"
    "AV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFf"
    "jkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45A"
    "AMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADA"
    "AAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAA"
    "CCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAgg"
    "ADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAw"
    "gE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBN"
    "RkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZC"
    "oCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAl"
    "qQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakK"
    "gJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCX"
    "MUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFB"
    "WSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkm"
    "U1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZ"
    "Dgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J"
    "4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kgKriV"
    "AUdTwADAAAEIIAAgpTQZjVElQmwJJUJ4u5IpwoSEU3fwOA=="
)
_BZIP2_ZEROS_SIZE = 2_200_000_000
_BZIP2_ZEROS_CRC = 0xCAD391BC


def bzip2_bomb(directory: Path) -> Path:
    """A sheet stored with bzip2 that inflates to 2.2 GB (zipfile inflates it in one call)."""
    entry = RawEntry(
        "",
        base64.b64decode("".join(_BZIP2_ZEROS_B64)),
        zipfile.ZIP_BZIP2,
        _BZIP2_ZEROS_CRC,
        _BZIP2_ZEROS_SIZE,
    )
    return rebuild(_base(directory), directory / "bzip2_bomb.xlsx", raw={SHEET: entry})


def lzma_part(directory: Path) -> Path:
    """An honest, small sheet compressed with LZMA, which Excel never writes."""
    src = io.BytesIO()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_LZMA) as zf:
        zf.writestr(SHEET, _sheet(directory))
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo(SHEET)
        src.seek(info.header_offset + 30 + len(info.filename) + len(info.extra))
        payload = src.read(info.compress_size)
    entry = RawEntry("", payload, zipfile.ZIP_LZMA, info.CRC, info.file_size)
    return rebuild(_base(directory), directory / "lzma.xlsx", raw={SHEET: entry})


def huge_shared_string(directory: Path, chars: int = 1_100_000_000) -> Path:
    """About 1 MB on disk: one shared string of ``chars`` letters."""
    unit = b"a" * (1 << 20)
    entry = repeated_deflate(
        f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>'.encode(),
        unit,
        chars // len(unit),
        b"</t></si></sst>",
    )
    return _with_shared_strings(directory, directory / "huge_string.xlsx", entry)


def long_incompressible_string(directory: Path, chars: int = 3_000_000) -> Path:
    """A shared string longer than the text limit that compresses honestly (no ratio alarm)."""
    text = base64.b64encode(os.urandom(chars * 3 // 4 + 3))[:chars]
    data = f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>'.encode() + text
    data += b"</t></si></sst>"
    return _with_shared_strings(directory, directory / "long_string.xlsx", deflated("", data))


def many_runs_string(directory: Path, runs: int = 40, run_chars: int = 30_000) -> Path:
    """One shared string split into many rich-text runs, each short, together long."""
    run = b"<r><t>" + base64.b64encode(os.urandom(run_chars * 3 // 4))[:run_chars] + b"</t></r>"
    data = f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si>'.encode()
    data += run * runs + b"</si></sst>"
    return _with_shared_strings(directory, directory / "many_runs.xlsx", deflated("", data))


def xml_entity_bomb(directory: Path) -> Path:
    """Billion laughs in the shared strings part."""
    lol = ['<!ENTITY lol "lol">']
    lol += [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    data = (
        '<?xml version="1.0"?><!DOCTYPE sst [' + "".join(lol) + "]>"
        f'<sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>'
    ).encode()
    return _with_shared_strings(directory, directory / "billion_laughs.xlsx", deflated("", data))


def xml_external_entity(directory: Path) -> Path:
    """XXE: the workbook part pulls /etc/passwd into a sheet name."""
    parts = read_parts(_base(directory))
    wb = parts["xl/workbook.xml"].replace(b'name="Data"', b'name="&xxe;"')
    doctype = b'<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    wb = b'<?xml version="1.0"?>' + doctype + wb
    return rebuild(_base(directory), directory / "xxe.xlsx", replace_parts={"xl/workbook.xml": wb})


def doctype_only(directory: Path) -> Path:
    """A DOCTYPE without entities (harmless by itself, but never in a real workbook)."""
    parts = read_parts(_base(directory))
    wb = b'<?xml version="1.0"?><!DOCTYPE workbook>' + parts["xl/workbook.xml"]
    return rebuild(
        _base(directory), directory / "doctype.xlsx", replace_parts={"xl/workbook.xml": wb}
    )


# ---------------------------------------------------------------- cells and ranges


def whole_sheet_merge(directory: Path) -> Path:
    return _sheet_with(
        directory,
        directory / "merge_all.xlsx",
        merges=b'<mergeCell ref="A1:XFD1048576"/>',
    )


def many_merges(directory: Path, count: int, size: int = 10) -> Path:
    """``count`` merges of ``size`` cells each in column blocks (each one harmless)."""
    refs = b"".join(b'<mergeCell ref="A%d:J%d"/>' % (r + 10, r + 10) for r in range(count))
    assert size == 10
    return _sheet_with(
        directory,
        directory / "many_merges.xlsx",
        merges=refs,
    )


def whole_column_hyperlink(directory: Path) -> Path:
    """openpyxl creates a cell for every coordinate a hyperlink range covers."""
    return _sheet_with(
        directory,
        directory / "hyperlink_range.xlsx",
        after_sheet_data=b'<hyperlinks><hyperlink ref="A:C" display="x" '
        b'location="Data!A1"/></hyperlinks>',
    )


def claimed_dimension(directory: Path) -> Path:
    return _sheet_with(directory, directory / "dimension.xlsx", dimension=b"A1:XFD1048576")


def far_cell(directory: Path) -> Path:
    """A single cell at the far corner makes the used range the whole grid."""
    return _sheet_with(
        directory,
        directory / "far_cell.xlsx",
        cells=b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    )


def beyond_grid(directory: Path) -> Path:
    return _sheet_with(
        directory,
        directory / "beyond_grid.xlsx",
        cells=b'<row r="99999999"><c r="A99999999"><v>1</v></c></row>',
    )


def wide_row(directory: Path) -> Path:
    """A row of cells without ``r``, one more than Excel has columns."""
    cells = b"<c><v>1</v></c>" * 16_385
    return _sheet_with(
        directory, directory / "wide_row.xlsx", cells=b'<row r="40">' + cells + b"</row>"
    )


def many_cells(directory: Path, count: int) -> Path:
    """``count`` numeric cells in 10 columns, streamed into the sheet XML."""
    rows = []
    for r in range(10, 10 + count // 10):
        cells = b"".join(b'<c r="%s%d"><v>%d</v></c>' % (bytes([65 + c]), r, c) for c in range(10))
        rows.append(b'<row r="%d">' % r + cells + b"</row>")
    return _sheet_with(directory, directory / f"cells_{count}.xlsx", cells=b"".join(rows))


def deep_nesting(directory: Path, depth: int = 5000) -> Path:
    return _sheet_with(
        directory,
        directory / "deep.xlsx",
        before_sheet_data=b"<extLst>" + b"<x>" * depth + b"</x>" * depth + b"</extLst>",
    )


# ---------------------------------------------------------------- formulas and links


def external_link_workbook(directory: Path, target: str = "file:///C:/secret/other.xlsx") -> Path:
    """A formula ``=[1]Sheet1!B2*C2+D2`` with the external link part that backs it."""
    base = _base(directory)
    parts = read_parts(base)
    sheet = parts[SHEET].replace(b"<f>B1*2</f>", b"<f>[1]Sheet1!B2*C2+D2</f>")
    link = (
        f'<externalLink xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><externalBook r:id="rId1">'
        '<sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>'
        "</externalLink>"
    ).encode()
    link_rels = (
        f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
        f'Type="{REL_NS}/externalLinkPath" Target="{target}" TargetMode="External"/>'
        "</Relationships>"
    ).encode()
    types = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/externalLinks/externalLink1.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        b'externalLink+xml"/></Types>',
    )
    rels = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Type="{REL_NS}/externalLink" '
        'Target="externalLinks/externalLink1.xml" Id="rId98"/></Relationships>'.encode(),
    )
    wb = parts["xl/workbook.xml"].replace(
        b"<definedNames>",
        b'<externalReferences><externalReference r:id="rId98"/></externalReferences><definedNames>',
    )
    return rebuild(
        base,
        directory / "external_link.xlsx",
        replace_parts={
            SHEET: sheet,
            "[Content_Types].xml": types,
            "xl/_rels/workbook.xml.rels": rels,
            "xl/workbook.xml": wb,
        },
        add={
            "xl/externalLinks/externalLink1.xml": link,
            "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels,
        },
    )


def dde_label(directory: Path) -> Path:
    """A DDE payload typed where a label belongs."""
    sheet = _sheet(directory).replace(
        b'<c r="A2" t="inlineStr"><is><t>bias</t></is></c>',
        b"<c r=\"A2\"><f>cmd|' /C calc'!A0</f></c>",
    )
    return rebuild(_base(directory), directory / "dde.xlsx", replace_parts={SHEET: sheet})


def with_macros(directory: Path) -> Path:
    return rebuild(
        _base(directory),
        directory / "macros.xlsm",
        add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)},
    )


# ---------------------------------------------------------------- containers


def encrypted(directory: Path) -> Path:
    """The start of an OLE/CFB container, as Excel writes password-protected files."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HH", 0x3E, 3)
    path = directory / "encrypted.xlsx"
    path.write_bytes(header + bytes(4096 - len(header)))
    return path


def other_zip(directory: Path, kind: str) -> Path:
    """An ODS, ODT, DOCX, PPTX, XLSB or plain zip (just enough to be recognised)."""
    files: dict[str, dict[str, bytes]] = {
        "ods": {
            "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": b"<office:document-content/>",
        },
        "odt": {
            "mimetype": b"application/vnd.oasis.opendocument.text",
            "content.xml": b"<office:document-content/>",
        },
        "docx": {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"},
        "pptx": {"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"},
        "xlsb": {"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x83\x01"},
        "zip": {"readme.txt": b"hello"},
    }
    entries = [stored(n, d) if n == "mimetype" else deflated(n, d) for n, d in files[kind].items()]
    return write_raw_zip(directory / f"other.{kind}", entries)


def bad_name(directory: Path, name: str) -> Path:
    return rebuild(_base(directory), directory / "bad_name.xlsx", add={name: b"<x/>"})


def duplicate_entry(directory: Path, second: str = SHEET) -> Path:
    entries = entries_of(_base(directory))
    entries.append(deflated(second, b"<worksheet/>"))
    return write_raw_zip(directory / "duplicate.xlsx", entries)


def many_entries(directory: Path, count: int = 5000) -> Path:
    entries = entries_of(_base(directory))
    entries += [stored(f"customXml/item{i}.bin", b"") for i in range(count)]
    return write_raw_zip(directory / "many_entries.xlsx", entries)


def shared_formula_flood(directory: Path, cells: int = 20_000, length: int = 1000) -> Path:
    """One long master formula shared by many cells: openpyxl re-tokenises it per cell."""
    terms = "+".join(f"A{i}" for i in range(1, length // 5))
    rows = [b'<row r="10"><c r="C10"><f t="shared" ref="C10:C%d" si="0">' % (9 + cells)]
    rows[0] += terms.encode() + b"</f></c></row>"
    rows += [
        b'<row r="%d"><c r="C%d"><f t="shared" si="0"/></c></row>' % (r, r)
        for r in range(11, 10 + cells)
    ]
    return _sheet_with(directory, directory / f"shared_{cells}.xlsx", cells=b"".join(rows))


def merges_and_links(directory: Path, count: int = 2000) -> Path:
    """Hyperlinks on merged cells: openpyxl searches every merge for each link."""
    merges = b"".join(b'<mergeCell ref="A%d:B%d"/>' % (r, r) for r in range(10, 10 + count))
    links = b"".join(
        b'<hyperlink ref="B%d" location="Data!A1" display="x"/>' % r for r in range(10, 10 + count)
    )
    return _sheet_with(
        directory,
        directory / f"merges_links_{count}.xlsx",
        merges=merges,
        after_sheet_data=b"<hyperlinks>" + links + b"</hyperlinks>",
    )


def cells_and_a_long_string(directory: Path, name: str = "two.xlsx") -> Path:
    """A workbook past two limits at once when they are lowered: 200 numbers (past
    ``max_cells=100``) and a 5,000-character string (past ``max_text_chars=1000``)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in range(1, 41):
        for column in range(1, 6):
            sheet.cell(row, column, row * column)
    sheet["H1"] = "x" * 5000
    path = directory / name
    book.save(path)
    return path
