"""Cached values: the number each formula shows, stored in the file for readers that never compute.

pandas ``read_excel``, openpyxl ``data_only=True``, file previews and mail attachments show
the value a file caches beside each formula; they never recalculate. openpyxl writes formulas
with an empty cache, so such readers would see nothing. We write a value beside every formula
of a built sheet into the saved sheet XML, at full ``repr`` precision.

Where the numbers come from. Every formula cell of a layout names the reference quantity it
must equal, and the layout's reference model (:mod:`sheetgen.maths.models`: plain Python maths, no
spreadsheet engine) computes every such quantity for the parameters being written, the
chart's data included. So a built file caches the reference's numbers. They are the numbers
the formulas compute: ``verify`` holds the formulas, evaluated by the ``formulas`` engine, to
these very numbers within its documented tolerances, and the tests check every family's
cached values against the engine that way (in practice they agree to the last bit, except
where numpy's tanh and Python's differ by an ulp and a faux gradient magnifies that). The
workbook keeps ``fullCalcOnLoad="1"``, so Excel and LibreOffice recompute everything on
opening anyway; the cache is for the readers that never do.

A reference number stands for a formula only when what the formula reads is what the layout
says: the parameters written, and formulas that are the layout's own whose numbers stand. A
cell the model has no number for, that lies on a circular path, or that reads a cell changed
since (an exercise's blank) or any of these cells, directly or through others, is not taken
from the reference; nor is any cell of a sheet with numbers so large that a formula might
overflow where Python's maths does not (see ``SAFE_MAGNITUDE``). Those cells, and
formula cells of a workbook with no layout, are evaluated with our ``Evaluator`` (the engine
``verify`` uses; only then are numpy and ``formulas`` imported), except that cells reading an
exercise's blanks get no cached value at all: what they show depends on what the learner
writes there. No shipped layout needs the engine to be built.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree  # only ever parses the file we have just written
from xml.parsers import expat  # only ever parses the file we have just written

from openpyxl.cell.cell import Cell
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from .. import a1
from ..layouts.layout import CellSpec, Layout
from ..maths.models import Reference
from ..workbook.book import stored_cells
from .charts import cache_series
from .package import tidy_parts, write_parts

if TYPE_CHECKING:  # the engine's module is imported only when a cell needs the engine
    from ..engine.evaluate import Value

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}

SAFE_MAGNITUDE = 700.0
"""Numbers no larger than this cannot overflow in a layout's formulas, which add, multiply,
square and divide a few of them and take TANH, EXP, MAX or IF of them (EXP stays finite up to
709.78). Python's maths and a spreadsheet's part ways past that: ``math.tanh(inf)`` is 1
where ``=TANH(1E200*1E200)`` is #NUM!, and the reference's sigmoid never calls exp on a large
number where the sheet's ``1/(1+EXP(-net))`` does. So when a number a formula reads or
computes is larger (or not finite), the engine computes every cell. (Numbers no formula
reads, such as a training sheet's step numbers, do not count.)"""


def formula_values(
    wb: Workbook, layout: Layout | None = None, params: Mapping[str, float] | None = None
) -> dict[str, dict[str, Value]]:
    """Every formula cell's value to cache, by sheet title then cell reference.

    With the ``layout`` and ``params`` the workbook was built from, the reference model's
    numbers (see the module docstring); the engine's for the other cells, except those that
    read a cell the layout computes but the workbook leaves blank (no value for them).
    """
    out: dict[str, dict[str, Value]] = {}
    rest = []
    for ws in wb.worksheets:
        cells: list[Cell] = list(stored_cells(ws).values())
        known: dict[str, float] = {}
        unknowable: set[str] = set()
        if layout is not None and ws.title == layout.sheet:
            found = {c.coordinate: c.value for c in cells if c.value is not None}
            known, unknowable = reference_values(found, layout, params or {})
        out[ws.title] = {}
        for cell in cells:
            if cell.data_type != "f":  # openpyxl's mark of a formula it writes as <f>
                continue
            ref = cell.coordinate
            if ref in known:
                out[ws.title][ref] = known[ref]
            elif ref not in unknowable:
                rest.append((ws.title, ref))
    if rest:
        from ..engine.evaluate import Evaluator  # the formulas engine: numpy, formulas, schedula

        for (sheet, ref), value in Evaluator(wb).evaluate(rest).items():
            out[sheet][ref] = value
    return out


def model_reference(layout: Layout, params: Mapping[str, float]) -> Reference:
    """The reference model of ``layout`` with ``params``; the last one is kept, as the builder
    asks twice (to refuse an overflow, then to cache the values) and a large network's, or an
    optimizer's with its growth, costs a noticeable fraction of its build."""
    from ..layouts.families import model_for

    key = (tuple(sorted(layout.settings.items())), tuple(sorted(params.items())))
    if _LAST_MODEL and _LAST_MODEL[0][0] == key:
        return _LAST_MODEL[0][1]
    reference = model_for(layout.settings)(params, layout.settings)
    _LAST_MODEL[:] = [(key, reference)]
    return reference


def model_values(layout: Layout, params: Mapping[str, float]) -> Mapping[str, float]:
    """The reference model's numbers for ``layout`` with ``params`` (see ``model_reference``)."""
    return model_reference(layout, params).values


_LAST_MODEL: list[tuple[object, Reference]] = []


def reference_values(
    found: Mapping[str, object], layout: Layout, params: Mapping[str, float]
) -> tuple[dict[str, float], set[str]]:
    """The reference's number for each formula cell of ``layout`` that it stands for, given
    what the sheet holds (``found``: cell -> value, empty cells left out), and the formula
    cells that read a blank (a layout cell the sheet leaves empty).

    A cell's number stands when its formula is the layout's, the model gives a number for it,
    and every cell it reads holds what the layout puts there (the parameter written, the
    constant) or is a formula whose number stands: a cell that reads one the engine must
    compute (a quantity the model lacks) is computed by the engine too, and a cell on a
    circular path never stands. No number stands when one is beyond ``SAFE_MAGNITUDE``.
    """
    try:
        # A plain dict: a network's quantities find each name by reading it (about 1 µs), and
        # every formula cell is looked up here; spelling them once is quicker.
        values = dict(model_values(layout, params).items())
    except (ArithmeticError, ValueError):  # parameters the maths cannot take: ask the engine
        values = {}

    formulas = [c for c in layout if c.kind == "formula"]
    number = {c.at: values[c.quantity] for c in formulas if c.quantity and c.quantity in values}
    blank = {c.at for c in formulas if c.at not in found}
    names = _names_in(layout.names)
    # A number a formula reads or computes may overflow: the numbers the formulas compute are
    # checked here, those they read as each formula's cells are found (``_first_pass``).
    large: set[str] = set()
    if all(abs(v) <= SAFE_MAGNITUDE for v in number.values()):
        large = {
            r
            for r, v in found.items()
            if isinstance(v, int | float) and not abs(v) <= SAFE_MAGNITUDE and r not in number
        }
    else:
        number = {}
    first = _first_pass(layout, formulas, found, params, names, number, large)
    if first is None:  # a formula reads a large number: the engine computes it all
        number = {}
        first = _first_pass(layout, formulas, found, params, names, number, set())
        assert first is not None
    faithful, later, reads = first
    # Each formula is decided once all the formulas it reads are; a cell on a circular path,
    # or reading one, never is (``tainted``): it neither stands nor reads a blank. The first
    # pass decided each formula whose every cell stood already; the others are decided here,
    # depth first, each after the formulas it reads. A decided formula's cells are let go
    # (``reads[at] = ()``, which marks it decided); ``open_`` holds those on the path.
    blank_read: set[str] = set()
    tainted: set[str] = set()
    open_: set[str] = set()
    for root in later:
        if not reads[root]:
            continue
        open_.add(root)
        stack = [(root, iter(reads[root]))]
        while stack:
            at, unread = stack[-1]
            for r in unread:
                if (cells := reads.get(r)) is None:  # not a formula of the layout's
                    continue
                if cells and r not in open_:  # first decide r, then go on with at's cells
                    open_.add(r)
                    stack.append((r, iter(cells)))
                    break
                if cells or r in tainted:  # on the path here (a circle), or reads one
                    tainted.add(at)
            else:
                stack.pop()
                open_.discard(at)
                cells, reads[at] = reads[at], ()
                if at in tainted:
                    if stack:
                        tainted.add(stack[-1][0])
                    continue
                if at in number and faithful.issuperset(cells):
                    faithful.add(at)
                if blank and any(r in blank or r in blank_read for r in cells):  # none: no test
                    blank_read.add(at)

    return {at: v for at, v in number.items() if at in faithful}, blank_read


def _first_pass(
    layout: Layout,
    formulas: list[CellSpec],
    found: Mapping[str, object],
    params: Mapping[str, float],
    names: _Names,
    number: Mapping[str, float],
    large: set[str],
) -> tuple[set[str], list[str], dict[str, Collection[str]]] | None:
    """``reference_values``' first pass, in the layout's order: the cells that stand so far
    (those holding what the layout puts there, and each formula whose every cell stands
    already), the formulas left for later, and the cells each formula holding the layout's
    formula reads, kept only for those left (``()`` for one decided here: a network's
    formulas read dozens of cells each, and all of them at once would be the largest thing a
    build holds). None if a formula reads a cell of ``large``."""

    def holds_layout(spec: CellSpec) -> bool:
        value: object = found.get(spec.at)
        if spec.kind == "input":
            return spec.quantity in params and value == params[spec.quantity or ""]
        if spec.kind == "constant":
            return value == spec.value
        return spec.kind == "formula" and value == spec.formula

    faithful = {c.at for c in layout if c.kind != "formula" and holds_layout(c)}
    later = []
    reads: dict[str, Collection[str]] = {}
    for c in formulas:
        if not holds_layout(c):
            continue
        at, cells = c.at, _reads(c.formula or "", names)
        if large and not large.isdisjoint(cells):
            return None
        if faithful.issuperset(cells):  # so none is or reads a blank
            if at in number:
                faithful.add(at)
            reads[at] = ()
        else:
            later.append(at)
            reads[at] = cells
    return faithful, later, reads


_Names = tuple[re.Pattern[str] | None, dict[str, str], tuple[str, ...]]
"""A pattern finding a layout's defined names in a formula, their addresses by upper-case
name, and the names in lower case when they are few and ASCII: an ASCII formula that holds
none of them, lowered, has no name the pattern would find (for ASCII, ignoring case is
lowering)."""


def _names_in(names: Mapping[str, str]) -> _Names:
    """The layout's defined ``names`` (name -> address) as :data:`_Names`."""
    if not names:
        return None, {}, ()
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.$])({alternatives})(?![\w(!])", re.IGNORECASE)
    few = len(names) <= 16 and all(n.isascii() for n in names)
    lowered = tuple(n.lower() for n in names) if few else ()
    return pattern, {n.upper(): address for n, address in names.items()}, lowered


_CELL = re.compile(r"(?<![\w.$!'\"])[A-Z]{1,3}[1-9][0-9]{0,6}(?![\w(!])")
"""``a1.READ_RANGE`` for a formula with neither ranges nor ``$``: the cell, found in C."""


def _reads(formula: str, names: _Names) -> Collection[str]:
    """The cells a layout's formula reads (perhaps more than once); ``"!"`` (another sheet)
    reads an unknown cell."""
    if "!" in formula or "[" in formula:
        return {"!"}
    pattern, address, lowered = names
    if pattern is not None and lowered and formula.isascii():
        lower = formula.lower()
        if not any(n in lower for n in lowered):
            pattern = None
    if ":" not in formula and "$" not in formula:  # single cells, as generated layouts write
        cells: list[str] = _CELL.findall(formula)
        if pattern is not None:
            cells += [address[n.upper()] for n in pattern.findall(formula)]
        return cells
    out = set()
    for m in a1.READ_RANGE.finditer(formula):
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
    if pattern is not None:
        out.update(address[n.upper()] for n in pattern.findall(formula))
    return out


def write_cached_values(path: Path, values: Mapping[str, Mapping[str, Value]]) -> None:
    """Rewrite the .xlsx at ``path`` (a file we just saved) with ``values`` cached in it, its
    parts laid out for strict readers (``package.tidy_parts``)."""
    with zipfile.ZipFile(path) as zin:
        files = {info.filename: zin.read(info.filename) for info in zin.infolist()}
    for member, sheet in sheet_parts(files).items():
        if member in files and values.get(sheet):
            files[member] = _cache_sheet(files[member], values[sheet])
    write_parts(path, tidy_parts(files))


def sheet_parts(files: Mapping[str, bytes]) -> dict[str, str]:
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
    """The sheet part ``xml`` with each formula cell named in ``values`` holding that value.

    expat finds the cells; each such ``<c>`` element is written anew (its attributes but a
    stale ``t``, its ``<f>`` as written, the new ``<v>``) and every other byte is kept as it
    was, so namespaces, prefixes and the declaration stay exactly as openpyxl wrote them. It
    is no slower to speak of than a byte regex (the 200-step 3-4-2 training sheet, 1.4 MB:
    about +10% of its build) and, unlike one, follows attribute order, prefixes and nesting.
    """
    out, at = [], 0
    for start, end, cell in _FormulaCells(xml, values).found:
        out += [xml[at:start], cell]
        at = end
    out.append(xml[at:])
    return b"".join(out)


class _FormulaCells:
    """Where in a sheet part each formula cell of ``values`` lies, and its new text: ``found``
    holds ``(start, end, bytes)`` in document order. A cell is rewritten only when its children
    are an ``<f>`` and perhaps a ``<v>``; any other cell is left alone. The ``<f>`` element is
    kept byte for byte, from where expat saw it begin to where the ``<v>`` or ``</c>`` begins."""

    def __init__(self, xml: bytes, values: Mapping[str, Value]) -> None:
        self.xml, self.values = xml, values
        self.found: list[tuple[int, int, bytes]] = []
        self.depth = 0  # of the open element: the root <worksheet> is 1, a <c> in a <row> is 4
        self.in_data = False  # in <sheetData>
        self.cell: tuple[int, dict[str, str]] | None = None  # a cell of values: start, attributes
        self.children: list[tuple[str, int]] = []  # the open cell's: local name, start
        parser = expat.ParserCreate()
        parser.ordered_attributes = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        self.parser = parser
        parser.Parse(xml, True)

    def start(self, name: str, attributes: list[str]) -> None:
        self.depth += 1
        if self.depth == 2:
            self.in_data = name.rpartition(":")[2] == "sheetData"
        elif self.depth == 4 and self.in_data and name.rpartition(":")[2] == "c":
            pairs = _pairs(attributes)
            if pairs.get("r") in self.values:
                self.cell = (self.parser.CurrentByteIndex, pairs)
                self.children = []
        elif self.cell is not None and self.depth == 5:
            self.children.append((name.rpartition(":")[2], self.parser.CurrentByteIndex))

    def end(self, name: str) -> None:
        self.depth -= 1
        if self.depth == 3 and self.cell is not None:
            self._rewrite(name, *self.cell)
            self.cell = None

    def _rewrite(self, name: str, start: int, pairs: dict[str, str]) -> None:
        kinds = [kind for kind, _ in self.children]
        if kinds not in (["f"], ["f", "v"]):
            return
        end_tag = self.parser.CurrentByteIndex  # where </c> begins
        formula = self.xml[self.children[0][1] : self.children[1][1] if kinds[1:] else end_tag]
        kind, text = cached_text(self.values[pairs["r"]])
        pairs.pop("t", None)
        if kind:
            pairs["t"] = kind
        v_name = name.rpartition(":")[0] + ":v" if ":" in name else "v"
        head = f"<{name}{_attributes(pairs)}>".encode()
        tail = f"<{v_name}>{escape(text)}</{v_name}></{name}>".encode()
        self.found.append((start, self.xml.index(b">", end_tag) + 1, head + formula + tail))


def _pairs(attributes: list[str]) -> dict[str, str]:
    """expat's ordered attributes ``[name, value, name, value]`` as a dict, in that order."""
    return dict(zip(attributes[::2], attributes[1::2], strict=True))


def _attributes(pairs: Mapping[str, str]) -> str:
    return "".join(f' {k}="{escape(v).replace(chr(34), "&quot;")}"' for k, v in pairs.items())


def cached_text(value: Value) -> tuple[str, str]:
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


def escape(text: str) -> str:
    """XML character data (xml.sax.saxutils.escape, without the urllib it imports)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def save_with_cached_values(
    wb: Workbook,
    path: Path,
    layout: Layout | None = None,
    params: Mapping[str, float] | None = None,
) -> None:
    """``wb.save(path)``, then cache every formula's value in the file (see ``formula_values``),
    and in its charts the numbers they draw (``charts.cache_series``)."""
    values = formula_values(wb, layout, params)
    for ws in wb.worksheets:
        cache_series(ws, values.get(ws.title, {}))
    wb.save(path)
    write_cached_values(path, values)
