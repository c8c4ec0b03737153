"""Cells filled by one multi-cell formula, as every application stores them, are computed by it.

The article's five faux gradients K6:K10 are one formula, ``(I6:I10-I2)/Tiny``, in each storage
form: Excel 365's spill (``<c cm="1"><f t="array" ref="K6:K10">`` with ``xl/metadata.xml``, the
other cells values only), a legacy Ctrl+Shift+Enter array (no ``cm``), openpyxl's
``ArrayFormula`` (the other cells left out of the file), and LibreOffice's array formula saved
as .xlsx and as .ods (through UNO). Excel cannot run here: its forms are written by hand as its
documentation ([MS-XLSX] 2.3.1 and 2.6.85; ECMA-376 §18.3.1.40) describes them. The wrong twin
divides by 0.001 instead of Tiny: named at K6, the other four wrong because of it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from sheetgen import verify_workbook
from sheetgen.check.results import Report
from sheetgen.check.verify import check
from sheetgen.layouts.layout import Layout

from .stored import SHEET, cell, stored
from .support import libreoffice as lo

RIGHT, WRONG = "(I6:I10-I2)/Tiny", "(I6:I10-I2)/0.001"
RANGE = ["K6", "K7", "K8", "K9", "K10"]

# What Excel 365 writes beside a spilling formula: the dynamic-array cell metadata its
# ``cm="1"`` points to ([MS-XLSX] 2.6.85 dynamicArrayProperties).
METADATA = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">
<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000"
 copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1"
 clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>
<futureMetadata name="XLDAPR" count="1"><bk><extLst>
<ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">
<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>
<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata>
</metadata>"""


def saved_values(path: Path) -> dict[str, float]:
    """The numbers a built workbook saved beside its formulas, by cell."""
    xml = zipfile.ZipFile(path).read(SHEET).decode()
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'<c r="([A-Z]+\d+)"[^>]*><f>[^<]*</f><v>([^<]*)</v>', xml)
    }


def assert_right(report: Report) -> None:
    assert report.ok and report.exit_code == 0, [c.message for c in report.wrong]
    cells = {c.cell: c for c in report.cells}
    for at in RANGE[1:]:
        assert cells[at].formula == cells["K6"].formula  # computed by K6's formula
        assert "array formula in K6" in cells[at].explanation


def assert_wrong_at_the_anchor(report: Report) -> None:
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["K6"]
    assert cells["K6"].status == "wrong" and "K6:K10" in cells["K6"].explanation
    for at in RANGE[1:]:
        assert cells[at].status == "wrong" and cells[at].causes == ("K6",)
        assert "array formula in K6" in cells[at].explanation


def excel_array(article: Path, out: Path, formula: str, *, spill: bool, scale: float) -> Path:
    """K6:K10 as Excel saves one array formula: the top-left cell holds it, the others the
    values Excel computed (``scale`` 1 for the right formula, Tiny/0.001 for the wrong one)."""
    values = saved_values(article)
    extra = {"cm": "1"} if spill else {}
    cells = {"K6": cell("K6", formula, values["K6"] * scale, t="array", ref="K6:K10", **extra)}
    cells.update({at: f'<c r="{at}"><v>{values[at] * scale!r}</v></c>' for at in RANGE[1:]})
    parts = {"xl/metadata.xml": METADATA} if spill else {}
    return stored(article, out, cells, parts=parts)


@pytest.mark.parametrize("spill", [True, False], ids=["excel-365-spill", "legacy-cse"])
def test_an_excel_array_formula_fills_its_range(spill: bool, article: Path, tmp_path: Path) -> None:
    assert_right(
        verify_workbook(excel_array(article, tmp_path / "r.xlsx", RIGHT, spill=spill, scale=1))
    )
    wrong = excel_array(article, tmp_path / "w.xlsx", WRONG, spill=spill, scale=0.1)
    assert_wrong_at_the_anchor(verify_workbook(wrong))


def openpyxl_array(article: Path, out: Path, formula: str) -> openpyxl.Workbook:
    wb = openpyxl.load_workbook(article)
    ws = wb.active
    assert ws is not None
    for at in RANGE:
        ws[at] = None
    ws["K6"] = ArrayFormula("K6:K10", "=" + formula)
    wb.save(out)
    return wb


def test_an_openpyxl_array_formula_fills_its_range_left_empty_in_the_file(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    wb = openpyxl_array(article, tmp_path / "r.xlsx", RIGHT)
    xml = zipfile.ZipFile(tmp_path / "r.xlsx").read(SHEET).decode()
    assert re.search(r'<c r="K7"[^>]*>\s*<[fv]', xml) is None  # no formula, no value
    assert_right(verify_workbook(tmp_path / "r.xlsx"))
    ws = wb[layout.sheet]
    assert check(wb, ws, layout).ok  # an openpyxl workbook handed over as is
    openpyxl_array(article, tmp_path / "w.xlsx", WRONG)
    assert_wrong_at_the_anchor(verify_workbook(tmp_path / "w.xlsx"))


def test_a_spill_reference_reads_the_spilled_range(article: Path, tmp_path: Path) -> None:
    """``I6#`` (stored ``_xlfn.ANCHORARRAY(I6)``) is the range I6's spill fills."""
    values = saved_values(article)
    losses = {"I6": cell("I6", "H6:H10^2/2", values["I6"], t="array", ref="I6:I10", cm="1")}
    losses.update(
        {at: f'<c r="{at}"><v>{values[at]!r}</v></c>' for at in ("I7", "I8", "I9", "I10")}
    )
    right = {
        **losses,
        "K6": cell(
            "K6", "(_xlfn.ANCHORARRAY(I6)-I2)/Tiny", values["K6"], t="array", ref="K6:K10", cm="1"
        ),
    }
    report = verify_workbook(
        stored(article, tmp_path / "r.xlsx", right, parts={"xl/metadata.xml": METADATA})
    )
    assert report.ok, [c.message for c in report.wrong]
    # The wrong twin: the spill of a cell that holds no array formula is #REF!, as in Excel.
    wrong = {
        "K6": cell("K6", "(_xlfn.ANCHORARRAY(H2)-I2)/Tiny", 0.0, t="array", ref="K6:K10", cm="1")
    }
    report = verify_workbook(stored(article, tmp_path / "w.xlsx", wrong))
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["K6"] and "H2#" in cells["K6"].message


@pytest.mark.libreoffice
@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_a_libreoffice_array_formula_fills_its_range(
    suffix: str, article: Path, tmp_path: Path, layout: Layout
) -> None:
    clear = dict.fromkeys(RANGE[1:], "")
    right = tmp_path / f"r{suffix}"
    lo.edit(article, right, {**clear, "K6:K10": "{=" + RIGHT + "}"}, sheet=layout.sheet)
    assert_right(verify_workbook(right))
    wrong = tmp_path / f"w{suffix}"
    lo.edit(article, wrong, {**clear, "K6:K10": "{=" + WRONG + "}"}, sheet=layout.sheet)
    assert_wrong_at_the_anchor(verify_workbook(wrong))


@pytest.mark.parametrize(
    "right, wrong",
    [
        ("_xlfn.HSTACK(B2*C2+D2,TANH(B2*C2+D2))", "_xlfn.HSTACK(B2*C2+D2,B2*C2+D2)"),
        ("CHOOSE({1,2},B2*C2+D2,TANH(B2*C2+D2))", "CHOOSE({1,1},B2*C2+D2,TANH(B2*C2+D2))"),
    ],
    ids=["HSTACK", "CHOOSE"],
)
def test_an_excel_365_function_spilling_a_row_fills_it(
    right: str, wrong: str, article: Path, tmp_path: Path
) -> None:
    """E2:F2 (net, output) as one spill of an array function, as Excel 365 stores it."""

    def spill(formula: str, out: Path, output: float) -> Path:
        cells = {
            "E2": cell("E2", formula, 0.8, t="array", ref="E2:F2", cm="1"),
            "F2": f'<c r="F2"><v>{output!r}</v></c>',
        }
        return stored(article, out, cells, parts={"xl/metadata.xml": METADATA})

    report = verify_workbook(spill(right, tmp_path / "r.xlsx", 0.6640367702678491))
    assert report.ok, [c.message for c in report.wrong]
    report = verify_workbook(spill(wrong, tmp_path / "w.xlsx", 0.8))
    cells = {c.cell: c for c in report.cells}
    # The net is right, the output is not: the formula is wrong where it is written.
    assert [c.cell for c in report.roots] == ["E2"]
    assert "gives wrong numbers in F2" in cells["E2"].message
    assert cells["F2"].causes == ("E2",)
    assert "array formula in E2" in cells["F2"].explanation


def test_a_google_sheets_arrayformula_exported_as_an_array_fills_its_range(
    article: Path, tmp_path: Path
) -> None:
    """Google Sheets exports ``=ARRAYFORMULA(...)`` as an array formula over its range."""
    right = excel_array(
        article, tmp_path / "r.xlsx", f"ARRAYFORMULA({RIGHT})", spill=False, scale=1
    )
    assert_right(verify_workbook(right))
    wrong = excel_array(
        article, tmp_path / "w.xlsx", f"ARRAYFORMULA({WRONG})", spill=False, scale=0.1
    )
    assert_wrong_at_the_anchor(verify_workbook(wrong))


@pytest.mark.parametrize("factors", ["{1;1;1;1;1}", "{1;2;1;1;1}"], ids=["right", "wrong"])
def test_an_array_formula_wrong_past_its_first_cell_is_named_at_its_anchor(
    factors: str, article: Path, tmp_path: Path
) -> None:
    """An Excel 365 spill whose own first number is right and second is not: the formula is
    wrong where it is written (K6), K7 because of it, and K6 says which cells are wrong."""
    values = saved_values(article)
    scale = [float(f) for f in factors.strip("{}").split(";")]
    cells = {"K6": cell("K6", f"{RIGHT}*{factors}", values["K6"], t="array", ref="K6:K10", cm="1")}
    cells.update(
        {
            at: f'<c r="{at}"><v>{values[at] * s!r}</v></c>'
            for at, s in zip(RANGE[1:], scale[1:], strict=True)
        }
    )
    report = verify_workbook(
        stored(article, tmp_path / "a.xlsx", cells, parts={"xl/metadata.xml": METADATA})
    )
    if factors == "{1;1;1;1;1}":
        assert_right(report)
        return
    found = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["K6"]
    assert found["K6"].status == "wrong" and "gives wrong numbers in K7 (" in found["K6"].message
    assert found["K7"].causes == ("K6",) and "array formula in K6" in found["K7"].explanation
    assert all(found[at].ok for at in ("K8", "K9", "K10"))


def test_a_two_dimensional_spill_is_named_at_its_anchor(article: Path, tmp_path: Path) -> None:
    """The nudged inputs B8:D10 as one spill with two rows' nudges swapped: the four cells
    wrong in themselves are wrong because of B8, and so is everything they feed."""
    values = saved_values(article)
    swapped = "B2:D2+Tiny*{0,0,1;1,0,0;0,1,0}"
    cells = {"B8": cell("B8", swapped, values["B8"], t="array", ref="B8:D10", cm="1")}
    cells.update(
        {
            f"{col}{row}": f'<c r="{col}{row}"><v>{values[f"{col}{row}"]!r}</v></c>'
            for row in (8, 9, 10)
            for col in "BCD"
            if (col, row) != ("B", 8)
        }
    )
    report = verify_workbook(
        stored(article, tmp_path / "a.xlsx", cells, parts={"xl/metadata.xml": METADATA})
    )
    found = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == ["B8"]
    assert "gives wrong numbers in B9, C9, B10, C10 (" in found["B8"].message
    for at in ("B9", "C9", "B10", "C10", "E9", "K9", "K10"):
        assert found[at].causes == ("B8",), (at, found[at].causes)
