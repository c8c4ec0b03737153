"""What every family's fresh sheets must pass, both ways: no right cell called wrong at any
parameters, and each formula cell multiplied by 1.01, one at a time, reported wrong at its
own address and named as its own quantity."""

from __future__ import annotations

from typing import Any

from sheetgen.check.verify import check, tolerance
from sheetgen.errors import UsageError
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.layouts.layout import Layout
from sheetgen.workbook.book import Book, Cell, Sheet
from sheetgen.writer.build import build_workbook, parameters


def formula_mutations(spec: str) -> tuple[list[str], list[str]]:
    """The cells of ``spec``'s fresh sheet whose 1.01x slip went unreported or misnamed
    (``missed``), and the quantities left out because 1 % of their value is within their
    tolerance, smaller than the rounding they are made of (``noise``). A value of 0 is
    skipped: 0 * 1.01 is still 0, and no sheet could tell."""
    layout = resolve_layout(spec)
    params: dict[str, Any] = parameters(layout)
    book = Book.of(build_workbook(layout, params))
    sheet = book.sheets[0]
    expected = check(book, sheet, layout)
    assert expected.ok
    values = {c.cell: c.expected for c in expected.cells}
    ref = model_for(layout.settings)(params, layout.settings)
    missed: list[str] = []
    noise: list[str] = []
    for c in layout.checked:
        want = values.get(c.at)
        if c.formula is None or not want:
            continue
        if 0.01 * abs(want) <= tolerance(c.quantity or "", want, ref):
            noise.append(c.quantity or "")
            continue
        cells = dict(sheet.cells)
        cells[c.at] = Cell(None, f"=({c.formula[1:]})*1.01")
        changed = Sheet(sheet.title, cells, sheet.names)
        found = check(Book((changed,), book.names), changed, layout)
        if {r.cell: r.quantity for r in found.wrong}.get(c.at) != c.quantity:
            missed.append(c.at)
    return missed, noise


def assert_never_wrong(layout: Layout, params: dict[str, Any], refusals: tuple[str, ...]) -> None:
    """A fresh sheet with ``params`` is refused in one sentence saying one of ``refusals``
    (it overflows, or turns to chaos), or has no wrong cell (unchecked is no verdict)."""
    try:
        params = parameters(layout, params)
    except UsageError as exc:
        assert any(why in str(exc) for why in refusals), exc
        return
    wb = build_workbook(layout, params)
    report = check(wb, wb[layout.sheet], layout)
    wrong = [
        (c.cell, c.quantity, c.found, c.expected)
        for c in report.cells
        if c.status not in ("ok", "unchecked")
    ]
    assert not wrong, (params, wrong[:5])
