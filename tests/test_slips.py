"""A wrong number that is a whole multiple of the right one, a fraction of it, or it with the
wrong sign says so: the shape of the usual slips of a data set's sheet (a batch's sum not
divided by its size, ``t - p`` for ``p - t``), beside what the cell should be."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.layouts.families import resolve_layout

SPEC = "training:layers=2-2-1,examples=4,loss=cross-entropy,steps=2"


@pytest.mark.parametrize(
    ("quantity", "formula", "said"),
    [
        ("step1.global.w1_1_1", "={0}17+{0}18+{0}19+{0}20", "(it is 4 times that)"),
        ("step1.global.w1_1_1", "=({0}17+{0}18+{0}19+{0}20)/16", "(it is 1/4 of that)"),
        ("step1.example1.n2_1.error", "={1}-{2}", "(the right size, but the wrong sign)"),
    ],
)
def test_the_slip_is_named_beside_the_right_number(
    tmp_path: Path, quantity: str, formula: str, said: str
) -> None:
    lay = resolve_layout(SPEC)
    wb = openpyxl.load_workbook(build(tmp_path / "a.xlsx", SPEC))
    at = lay.by_quantity[quantity].at
    column = at.rstrip("0123456789")
    target = lay.by_quantity["step1.example1.target1"].at
    output = lay.by_quantity["step1.example1.n2_1.output"].at
    wb[lay.sheet][at] = formula.format(column, target, output)
    wb.save(tmp_path / "b.xlsx")
    cells = {c.cell: c for c in verify_workbook(tmp_path / "b.xlsx", variants=0).cells}
    assert cells[at].status == "wrong" and said in cells[at].message, cells[at].message


def test_a_gradient_of_minus_zero_reads_as_the_spreadsheets_zero(tmp_path: Path) -> None:
    """An input of 0 times a negative number is -0.0 in Python and 0 in every spreadsheet; the
    report says 0 (``expected -0`` beside a blank read as a sign to get right)."""
    from sheetgen import build_exercise
    from sheetgen.check import show
    from sheetgen.report.render import to_text

    assert show.number(-0.0) == "0" and show.value(-0.0, digits=6) == "0"
    path = build_exercise(tmp_path / "x.xlsx", SPEC)
    report = verify_workbook(path, variants=0)
    zero = [c for c in report.cells if c.expected == 0.0 and math.copysign(1, c.expected) < 0]
    assert zero, "the XOR sheet's first example (inputs 0) has gradients of -0.0"
    assert " -0 " not in to_text(report)


def test_a_hard_label_shortcut_is_right_by_luck_and_said_so(tmp_path: Path) -> None:
    """``-LN(IF(t=1,y,1-y))`` is the cross-entropy of targets 0 or 1 only: right for XOR's
    table, wrong once a teacher types a probability there. It is called right by luck, and
    the explanation names the shortcut rather than a typed number alone."""
    lay = resolve_layout(SPEC)
    wb = openpyxl.load_workbook(build(tmp_path / "a.xlsx", SPEC))
    loss = lay.by_quantity["step1.example1.loss"].at
    t = lay.by_quantity["step1.example1.target1"].at
    y = lay.by_quantity["step1.example1.n2_1.output"].at
    wb[lay.sheet][loss] = f"=-LN(IF({t}=1,{y},1-{y}))"
    wb.save(tmp_path / "b.xlsx")
    cells = {c.cell: c for c in verify_workbook(tmp_path / "b.xlsx").cells}
    assert cells[loss].status == "fragile"
    assert "targets of exactly 0 or 1" in cells[loss].explanation, cells[loss].explanation


@pytest.mark.parametrize("digits", [1, 3, 6, 10, 17, 20])
def test_a_number_is_shown_with_its_digits(digits: int) -> None:
    from sheetgen.check import show

    for x in [0.0, -0.0, 1e-300, 1.5, -2.5e17, 123456789.123, 1 / 3]:
        assert show.number(x, digits) == f"{x + 0.0:.{digits}g}"
    assert show.number(math.inf, digits) == "inf" and show.number(math.nan, digits) == "nan"
