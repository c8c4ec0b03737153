"""Workbooks stored as an application writes them, byte by byte, where it cannot run here.

Excel 365 and Google Sheets do not run on a test machine, so their storage forms (a formula
beside the value the application saved, an array formula's range, a spill's metadata, a
LAMBDA kept in a defined name) are written into a built workbook's XML by hand, following the
format Excel documents (ECMA-376 Part 1, §18.3.1.40 ``f``; [MS-XLSX] 2.6 for dynamic arrays).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

from sheetgen import a1

SHEET = "xl/worksheets/sheet1.xml"


def stored(
    src: Path,
    dst: Path,
    cells: Mapping[str, str],
    *,
    names: Mapping[str, str] | None = None,
    parts: Mapping[str, bytes] | None = None,
) -> Path:
    """A copy of ``src`` whose first sheet's ``cells`` hold the given ``<c>`` XML (``""``
    removes the cell), with workbook ``names`` defined and extra package ``parts``."""
    with zipfile.ZipFile(src) as zin:
        files = {info.filename: zin.read(info) for info in zin.infolist()}
    sheet = files[SHEET].decode()
    for at, xml in cells.items():
        sheet = _put(sheet, at, xml)
    files[SHEET] = sheet.encode()
    if names:
        book = files["xl/workbook.xml"].decode()
        defined = "".join(
            f'<definedName name="{n}">{_escape(text)}</definedName>' for n, text in names.items()
        )
        if "<definedNames>" in book:
            book = book.replace("<definedNames>", "<definedNames>" + defined, 1)
        else:
            book = book.replace("</sheets>", f"</sheets><definedNames>{defined}</definedNames>", 1)
        files["xl/workbook.xml"] = book.encode()
    files.update(parts or {})
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)
    return dst


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _put(sheet: str, at: str, xml: str) -> str:
    existing = re.compile(rf'<c r="{at}"(?:\s[^>]*)?(?:/>|>.*?</c>)', re.DOTALL)
    if existing.search(sheet):
        return existing.sub(lambda _: xml, sheet, count=1)
    row = a1.split(at)[0]
    match = re.search(rf'<row r="{row}"[^>]*>(.*?)</row>', sheet, re.DOTALL)
    if match is None:  # a row of its own, after the rows before it
        rows = [(int(m.group(1)), m.start()) for m in re.finditer(r'<row r="(\d+)"', sheet)]
        later = [start for r, start in rows if r > row]
        where = later[0] if later else sheet.index("</sheetData>")
        return sheet[:where] + f'<row r="{row}">{xml}</row>' + sheet[where:]
    end = match.end() - len("</row>")
    return sheet[:end] + xml + sheet[end:]


def cell(at: str, formula: str | None, value: float | None = None, **attrs: str) -> str:
    """A ``<c>`` as Excel writes it: ``<f>`` with ``attrs`` (``t``, ``ref``), then ``<v>``."""
    f_attrs = "".join(f' {k}="{v}"' for k, v in attrs.items() if k != "cm")
    c_attrs = f' cm="{attrs["cm"]}"' if "cm" in attrs else ""
    f = "" if formula is None else f"<f{f_attrs}>{_escape(formula)}</f>"
    v = "" if value is None else f"<v>{value!r}</v>"
    return f'<c r="{at}"{c_attrs}>{f}{v}</c>'
