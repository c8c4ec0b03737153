"""Excel 365's functions, in the form Excel writes them into the file, are computed.

Excel stores a function newer than the 2007 file format with an ``_xlfn.`` prefix, a
worksheet-only one with ``_xlws.``, LET's and LAMBDA's parameter names with ``_xlpm.``, the ``@``
operator as ``_xlfn.SINGLE``, and a LAMBDA the learner named (Formulas > Name Manager) as a
defined name the cells call by name. Excel cannot run here, so each file is written as Excel
stores it (``tests/stored.py``): the cell's ``<f>`` beside the value Excel computed. Each right
formula has a wrong twin, named at its cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen import verify_workbook

from .stored import cell, stored

NET, OUTPUT = 0.8, 0.6640367702678491  # the article's E2 and F2

RIGHT = {
    "LET": "_xlfn.LET(_xlpm.z,B2*C2+D2,TANH(_xlpm.z))",
    "SINGLE": "_xlfn.SINGLE(TANH(E2))",
    "CHOOSE": "CHOOSE(2,0,TANH(E2),1)",
    "HSTACK": "INDEX(_xlfn.HSTACK(E2,TANH(E2)),1,2)",
    "VSTACK": "INDEX(_xlfn.VSTACK(E2,TANH(E2)),2,1)",
    "array constant": "SUMPRODUCT({0,1},_xlfn.HSTACK(E2,TANH(E2)))",
    "XLOOKUP": '_xlfn.XLOOKUP("out",{"net","out"},_xlfn.HSTACK(E2,TANH(E2)))',
    "FILTER": "SUM(_xlfn._xlws.FILTER(_xlfn.HSTACK(E2,TANH(E2)),{FALSE,TRUE}))",
    "ARRAYFORMULA": "ARRAYFORMULA(TANH(E2))",
}
# The same formulas with the learner's mistake: the net itself, not its tanh.
WRONG = {
    "LET": "_xlfn.LET(_xlpm.z,B2*C2+D2,_xlpm.z)",
    "SINGLE": "_xlfn.SINGLE(E2)",
    "CHOOSE": "CHOOSE(1,E2,TANH(E2),1)",
    "HSTACK": "INDEX(_xlfn.HSTACK(E2,TANH(E2)),1,1)",
    "VSTACK": "INDEX(_xlfn.VSTACK(E2,TANH(E2)),1,1)",
    "array constant": "SUMPRODUCT({1,0},_xlfn.HSTACK(E2,TANH(E2)))",
    "XLOOKUP": '_xlfn.XLOOKUP("net",{"net","out"},_xlfn.HSTACK(E2,TANH(E2)))',
    "FILTER": "SUM(_xlfn._xlws.FILTER(_xlfn.HSTACK(E2,TANH(E2)),{TRUE,FALSE}))",
    "ARRAYFORMULA": "ARRAYFORMULA(E2)",
}


@pytest.mark.parametrize("name", list(RIGHT))
def test_an_excel_365_formula_is_computed_and_its_wrong_twin_named(
    name: str, article: Path, tmp_path: Path
) -> None:
    right = stored(article, tmp_path / "right.xlsx", {"F2": cell("F2", RIGHT[name], OUTPUT)})
    report = verify_workbook(right)
    assert report.ok and report.exit_code == 0, [c.message for c in report.wrong]
    wrong = stored(article, tmp_path / "wrong.xlsx", {"F2": cell("F2", WRONG[name], NET)})
    report = verify_workbook(wrong)
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["F2"] and cells["F2"].status == "wrong"
    assert not cells["F2"].saved  # computed by sheetgen, not taken from the file
    assert cells["F2"].message == "F2 is 0.8; it should be 0.6640367703."


LAMBDA = "_xlfn.LAMBDA(_xlpm.x,TANH(_xlpm.x))"


def test_a_lambda_kept_in_a_defined_name_is_called_by_name(article: Path, tmp_path: Path) -> None:
    right = stored(
        article, tmp_path / "l.xlsx", {"F2": cell("F2", "ACT(E2)", OUTPUT)}, names={"ACT": LAMBDA}
    )
    assert verify_workbook(right).ok
    wrong = stored(
        article,
        tmp_path / "w.xlsx",
        {"F2": cell("F2", "ACT(E2)", NET)},
        names={"ACT": "_xlfn.LAMBDA(_xlpm.x,_xlpm.x)"},
    )
    report = verify_workbook(wrong)
    assert [c.cell for c in report.roots] == ["F2"]


def test_a_lambda_whose_body_reads_a_cell_follows_that_cell(article: Path, tmp_path: Path) -> None:
    """The body's cells are the calling cell's dependencies: a name reading the bias is right
    whatever the parameters (no "right by luck"), and a name reading the wrong cell is wrong."""
    names = {"NET": "_xlfn.LAMBDA(_xlpm.x,_xlpm.x+Neuron!$D$2)"}
    right = stored(article, tmp_path / "r.xlsx", {"E2": cell("E2", "NET(B2*C2)", NET)}, names=names)
    assert verify_workbook(right).ok
    names = {"NET": "_xlfn.LAMBDA(_xlpm.x,_xlpm.x+Neuron!$C$2)"}
    wrong = stored(article, tmp_path / "w.xlsx", {"E2": cell("E2", "NET(B2*C2)", 0.7)}, names=names)
    assert [c.cell for c in verify_workbook(wrong).roots] == ["E2"]


def test_a_misspelt_name_called_as_a_function_is_wrong(article: Path, tmp_path: Path) -> None:
    path = stored(
        article,
        tmp_path / "t.xlsx",
        {"F2": '<c r="F2" t="e"><f>ACTT(E2)</f><v>#NAME?</v></c>'},
        names={"ACT": LAMBDA},
    )
    report = verify_workbook(path)
    (root,) = report.roots
    assert root.cell == "F2" and "ACTT" in root.message and report.exit_code == 1


def test_a_lambda_called_where_it_is_written_is_checked_from_excels_value(
    article: Path, tmp_path: Path
) -> None:
    """formulas 1.3 computes #VALUE! for ``LAMBDA(...)(E2)``: never a wrong verdict from that."""
    text = "_xlfn.LAMBDA(_xlpm.x,TANH(_xlpm.x))(E2)"
    report = verify_workbook(stored(article, tmp_path / "r.xlsx", {"F2": cell("F2", text, OUTPUT)}))
    assert report.exit_code == 3 and all(c.ok for c in report.cells)
    assert {c.cell for c in report.cells if c.saved} >= {"F2", "H2"}
    report = verify_workbook(stored(article, tmp_path / "w.xlsx", {"F2": cell("F2", text, NET)}))
    assert [c.cell for c in report.roots] == ["F2"] and report.exit_code == 1
