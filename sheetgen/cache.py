"""Cached values: the number each formula shows, stored in the file for readers that never compute.

pandas ``read_excel``, openpyxl ``data_only=True``, file previews and mail attachments show
the value a file caches beside each formula; they never recalculate. openpyxl writes formulas
with an empty cache, so such readers would see nothing. We evaluate every formula with our
own ``Evaluator`` (the same engine ``verify`` uses, not a second implementation of the maths)
and write the results into the saved sheet XML, at full ``repr`` precision. The workbook keeps
``fullCalcOnLoad="1"``, so Excel and LibreOffice still recompute everything on opening.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree  # only ever parses the file we have just written
from xml.sax.saxutils import escape

from openpyxl.workbook.workbook import Workbook

from .evaluate import CellError, Evaluator, Value, formula_text

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}

# A formula cell as openpyxl writes it: <c r="E2" ...><f>...</f><v/></c> (or <v></v>, or no <v>).
_FORMULA_CELL = re.compile(
    rb'<c r="(?P<ref>[A-Z]{1,3}[0-9]{1,7})"(?P<attrs>[^>]*)>'
    rb"(?P<f><f(?:[^>]*/>|[^>]*>.*?</f>))(?:<v\s*/>|<v>[^<]*</v>)?</c>",
    re.S,
)


def formula_values(wb: Workbook) -> dict[str, dict[str, Value]]:
    """Every formula cell's value, by sheet title then cell reference."""
    ev = Evaluator(wb)
    refs = [
        (ws.title, cell.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if formula_text(cell.value) is not None
    ]
    out: dict[str, dict[str, Value]] = {ws.title: {} for ws in wb.worksheets}
    for (sheet, ref), value in ev.evaluate(refs).items():
        out[sheet][ref] = value
    return out


def write_cached_values(path: Path, values: Mapping[str, Mapping[str, Value]]) -> None:
    """Rewrite the .xlsx at ``path`` (a file we just saved) with ``values`` cached in it."""
    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    parts = _sheet_parts(dict((i.filename, data) for i, data in items))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            sheet = parts.get(info.filename)
            if sheet is not None and values.get(sheet):
                data = _cache_sheet(data, values[sheet])
            zout.writestr(info, data)


def _sheet_parts(files: Mapping[str, bytes]) -> dict[str, str]:
    """Zip member name of each worksheet -> its title, read from workbook.xml and its rels."""
    workbook = ElementTree.fromstring(files["xl/workbook.xml"])
    rels = ElementTree.fromstring(files["xl/_rels/workbook.xml.rels"])
    target = {r.get("Id"): r.get("Target", "") for r in rels.findall("p:Relationship", _NS)}
    out = {}
    for sheet in workbook.findall("m:sheets/m:sheet", _NS):
        rid = sheet.get(f"{{{_NS['r']}}}id")
        where = target.get(rid, "")
        member = where.lstrip("/") if where.startswith("/") else str(PurePosixPath("xl") / where)
        out[member] = sheet.get("name", "")
    return out


def _cache_sheet(xml: bytes, values: Mapping[str, Value]) -> bytes:
    def fill(match: re.Match[bytes]) -> bytes:
        ref = match.group("ref").decode()
        if ref not in values:
            return match.group(0)
        kind, text = _cached(values[ref])
        attrs = re.sub(rb'\st="[^"]*"', b"", match.group("attrs"))
        if kind:
            attrs += f' t="{kind}"'.encode()
        head = b'<c r="' + match.group("ref") + b'"' + attrs + b">"
        return head + match.group("f") + b"<v>" + escape(text).encode() + b"</v></c>"

    return _FORMULA_CELL.sub(fill, xml)


def _cached(value: Value) -> tuple[str, str]:
    """The cell type attribute and the <v> text for a value (full precision for numbers)."""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, float):
        return "", repr(value)
    if isinstance(value, CellError):
        return "e", value.code
    if value is None:
        return "", "0"
    return "str", value


def save_with_cached_values(wb: Workbook, path: Path) -> None:
    """``wb.save(path)``, then cache every formula's value in the file."""
    values = formula_values(wb)
    wb.save(path)
    write_cached_values(path, values)
