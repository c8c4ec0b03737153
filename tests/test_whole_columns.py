"""Whole-column and whole-row references are computed, bounded by the cells the sheet holds.

``INDEX(H:H,2)``, ``SUMIF(A:A,"...",H:H)`` and ``INDEX(2:2,6)`` read the ranges themselves;
``TANH(@E:E)`` (stored ``_xlfn.SINGLE(E:E)``) and a formula stored without the dynamic-array
flag, ``TANH(E:E)``, read the one cell in the formula's own row, as Excel's implicit
intersection does (a pre-365 formula; E3 reads F2, so reading all of E would be circular).
Each is written as Excel stores a plain formula (``<f>`` beside its value, ``tests/stored.py``)
and has a wrong twin named at its cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen import verify_workbook
from sheetgen.engine.evaluate import Evaluator
from sheetgen.workbook.book import Book, Cell, Sheet

from .stored import cell, stored

OUTPUT, LOSS, LOCAL = 0.6640367702678491, 0.0006466769463837285, 0.5590551677322437

CASES = {  # name: (cell, right formula, its value, wrong formula, its value)
    "INDEX(H:H,2)": ("I2", "INDEX(H:H,2)^2/2", LOSS, "INDEX(H:H,6)^2/2", 0.00064),
    "SUMIF(A:A,...,H:H)": (
        "I2",
        'SUMIF(A:A,"Neuron maths:",H:H)^2/2',
        LOSS,
        'SUMIF(A:A,"Neuron maths:",H:H)^2',
        2 * LOSS,
    ),
    "INDEX(2:2,6)": ("E3", "1-INDEX(2:2,6)^2", LOCAL, "1-INDEX(2:2,5)^2", 0.36),
    # LibreOffice writes a whole column out in full.
    "INDEX($H$1:$H$1048576,2)": (
        "I2",
        "INDEX($H$1:$H$1048576,2)^2/2",
        LOSS,
        "INDEX($H$1:$H$1048576,6)^2/2",
        0.00064,
    ),
    "TANH(@E:E)": ("F2", "TANH(_xlfn.SINGLE(E:E))", OUTPUT, "TANH(_xlfn.SINGLE(D:D))", 0.537),
    "TANH(E:E) pre-365": ("F2", "TANH(E:E)", OUTPUT, "TANH(D:D)", 0.537),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_whole_column_or_row_is_computed_and_its_wrong_twin_named(
    name: str, article: Path, tmp_path: Path
) -> None:
    at, right, value, wrong, wrong_value = CASES[name]
    report = verify_workbook(stored(article, tmp_path / "r.xlsx", {at: cell(at, right, value)}))
    assert report.ok, [c.message for c in report.wrong]
    report = verify_workbook(
        stored(article, tmp_path / "w.xlsx", {at: cell(at, wrong, wrong_value)})
    )
    (root,) = report.roots
    # A formula reading the wrong cell (TANH(@D:D)) also misses what its quantity needs.
    assert root.cell == at and root.status in ("wrong", "structure"), root.message


def test_a_whole_column_is_read_as_far_as_the_sheet_holds_cells() -> None:
    """No million-cell arrays: a column of a 10,000-row sheet is 10,000 cells, and reading it
    is right (the sum of 1..10,000)."""
    rows = 10_000
    cells = {f"A{r}": Cell(float(r)) for r in range(1, rows + 1)}
    cells["C1"] = Cell(None, "=SUM(A:A)")
    cells["C2"] = Cell(None, '=SUMIF(A:A,">5000",A:A)')
    cells["C3"] = Cell(None, "=INDEX(A:A,9999)")
    ev = Evaluator(Book((Sheet("S", cells),)))
    values = ev.evaluate([("S", "C1"), ("S", "C2"), ("S", "C3")])
    assert values[("S", "C1")] == rows * (rows + 1) / 2
    assert values[("S", "C2")] == sum(range(5001, rows + 1))
    assert values[("S", "C3")] == 9999.0
    assert len(ev.dependencies(("S", "C1"))) == rows
