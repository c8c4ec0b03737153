"""Cached values: the number each formula shows, stored in the file for readers that never compute.

pandas ``read_excel``, openpyxl ``data_only=True``, file previews and mail attachments show
the value a file caches beside each formula; they never recalculate. openpyxl writes formulas
with an empty cache, so such readers would see nothing. We write a value beside every formula
of a built sheet into the saved sheet XML, at full ``repr`` precision.

Where the numbers come from. Every formula cell of a layout names the reference quantity it
must equal, and the layout's reference model (:mod:`sheetgen.models`: plain Python maths, no
spreadsheet engine) computes every such quantity for the parameters being written, the
chart's data included. So a built file caches the reference's numbers. They are the numbers
the formulas compute: ``verify`` holds the formulas, evaluated by the ``formulas`` engine, to
these very numbers within its documented tolerances, and the tests check every family's
cached values against the engine that way (in practice they agree to the last bit, except
where numpy's tanh and Python's differ by an ulp and a faux gradient magnifies that). The
workbook keeps ``fullCalcOnLoad="1"``, so Excel and LibreOffice recompute everything on
opening anyway; the cache is for the readers that never do.

A reference number stands for a formula only when what the formula reads is what the layout
says: the parameters written, and formulas that are the layout's own. A cell the model has no
number for, whose number is not finite, or that reads a cell changed since (an exercise's
blank, directly or through other cells) is not taken from the reference. Those cells, and
formula cells of a workbook with no layout, are evaluated with our ``Evaluator`` (the engine
``verify`` uses; only then are numpy and ``formulas`` imported), except that cells reading an
exercise's blanks get no cached value at all: what they show depends on what the learner
writes there. No shipped layout needs the engine to be built.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree  # only ever parses the file we have just written

from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from .layout import CellSpec, Layout

if TYPE_CHECKING:  # the engine's module is imported only when a cell needs the engine
    from .evaluate import Value

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

# A cell or range a layout's formula reads: B2, $B$2, B2:D4 (not TANH( or LOG10(, nor a name).
_READS = re.compile(
    r"(?<![\w.$!'\"])\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})"
    r"(?::\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6}))?(?![\w(!])"
)
_NAME = re.compile(r"(?<![\w.$])([A-Za-z_][\w.]*)(?![\w(!])")


def formula_values(
    wb: Workbook, layout: Layout | None = None, params: Mapping[str, float] | None = None
) -> dict[str, dict[str, Value]]:
    """Every formula cell's value to cache, by sheet title then cell reference.

    With the ``layout`` and ``params`` the workbook was built from, the reference model's
    numbers (see the module docstring); the engine's for the other cells, except those that
    read a cell the layout computes but the workbook leaves blank (no value for them).
    """
    out: dict[str, dict[str, Value]] = {ws.title: {} for ws in wb.worksheets}
    known: dict[str, float] = {}
    unknowable: set[str] = set()
    if layout is not None and layout.sheet in wb.sheetnames:
        known, unknowable = reference_values(wb, layout, params or {})
    rest = []
    for ws in wb.worksheets:
        ours = ws.title == (layout.sheet if layout else None)
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":  # openpyxl's mark of a formula it writes as <f>
                    continue
                if ours and cell.coordinate in known:
                    out[ws.title][cell.coordinate] = known[cell.coordinate]
                elif not (ours and cell.coordinate in unknowable):
                    rest.append((ws.title, cell.coordinate))
    if rest:
        from .evaluate import Evaluator  # the formulas engine: numpy, formulas, schedula

        for (sheet, ref), value in Evaluator(wb).evaluate(rest).items():
            out[sheet][ref] = value
    return out


def reference_values(
    wb: Workbook, layout: Layout, params: Mapping[str, float]
) -> tuple[dict[str, float], set[str]]:
    """The reference's number for each formula cell of ``layout`` in ``wb`` that it stands for,
    and the formula cells that read a blank (a layout cell the workbook leaves empty).

    A cell's number stands when its formula is the layout's, every cell it reads holds what
    the layout puts there (the parameter written, the constant, the layout's formula) and
    the model gives a finite number for it.
    """
    from .models import model_for

    ws = wb[layout.sheet]
    try:
        values = model_for(layout.settings)(params, layout.settings).values
    except (ArithmeticError, ValueError):  # parameters the maths cannot take: ask the engine
        values = {}
    spec_at = {c.at: c for c in layout}
    names = {name.upper(): address for name, address in layout.names.items()}
    faithful: dict[str, bool] = {}
    reads: dict[str, set[str]] = {}
    blank_read: set[str] = set()

    def holds_layout(spec: CellSpec) -> bool:
        found: object = ws[spec.at].value
        if spec.kind == "input":
            return spec.quantity in params and found == params[spec.quantity or ""]
        if spec.kind == "constant":
            return found == spec.value
        return spec.kind == "formula" and found == spec.formula

    def check(at: str) -> bool:
        # Iterative, depth first: a training sheet's chain of steps is thousands of cells deep.
        stack, visiting = [at], set()
        while stack:
            top = stack.pop()
            if top in faithful:
                continue
            spec = spec_at.get(top)
            if spec is None or not holds_layout(spec):
                faithful[top] = False
                if spec is not None and spec.kind == "formula" and ws[top].value is None:
                    blank_read.add(top)
                continue
            if spec.kind != "formula":
                faithful[top] = True
                continue
            if top not in reads:
                reads[top] = _reads(spec.formula or "", names)
            if top in visiting:  # its reads are done, or are a cycle through it
                visiting.discard(top)
                faithful[top] = all(faithful.get(r, False) for r in reads[top])
                if any(r in blank_read for r in reads[top]):
                    blank_read.add(top)
                continue
            visiting.add(top)
            stack.append(top)
            stack.extend(r for r in reads[top] if r not in faithful and r not in visiting)
        return faithful[at]

    known: dict[str, float] = {}
    for spec in layout:
        if spec.kind != "formula" or not check(spec.at):
            continue
        value = values.get(spec.quantity or "")
        if value is not None and math.isfinite(value):
            known[spec.at] = value
    return known, blank_read


def _reads(formula: str, names: Mapping[str, str]) -> set[str]:
    """The cells a layout's formula reads; ``"!"`` (another sheet) reads an unknown cell."""
    if "!" in formula or "[" in formula:
        return {"!"}
    out: set[str] = set()
    for m in _READS.finditer(formula):
        if m.group(3) is None:
            out.add(f"{m.group(1)}{m.group(2)}")
            continue
        low_col, low_row, high_col, high_row = range_boundaries(m.group(0).replace("$", ""))
        assert low_col and low_row and high_col and high_row
        out.update(
            f"{get_column_letter(c)}{r}"
            for r in range(low_row, high_row + 1)
            for c in range(low_col, high_col + 1)
        )
    out.update(names[n.upper()] for n in _NAME.findall(formula) if n.upper() in names)
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
        return head + match.group("f") + b"<v>" + _escape(text).encode() + b"</v></c>"

    return _FORMULA_CELL.sub(fill, xml)


def _cached(value: Value) -> tuple[str, str]:
    """The cell type attribute and the <v> text for a value (full precision for numbers)."""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, float):
        return "", repr(value)
    if value is None:
        return "", "0"
    if isinstance(value, str):
        return "str", value
    return "e", value.code  # a CellError, which only the engine returns


def _escape(text: str) -> str:
    """XML character data (xml.sax.saxutils.escape, without the urllib it imports)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def save_with_cached_values(
    wb: Workbook,
    path: Path,
    layout: Layout | None = None,
    params: Mapping[str, float] | None = None,
) -> None:
    """``wb.save(path)``, then cache every formula's value in the file (see ``formula_values``)."""
    values = formula_values(wb, layout, params)
    wb.save(path)
    write_cached_values(path, values)
