"""Defined names holding a number or a formula (Excel's Name Manager: ``Half`` refers to
``=0.5``), computed where formulas use them, as Excel does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from sheetgen import build, verify_workbook
from sheetgen.engine.evaluate import Evaluator
from sheetgen.engine.names import expanded
from sheetgen.workbook.book import Book, Cell, Sheet
from sheetgen.workbook.openformula import range_to_excel
from sheetgen.workbook.xlsx import read_book, shift

from .stored import cell, stored


def _book(
    formulas: dict[str, str], names: dict[str, str], local: dict[str, str] | None = None
) -> Book:
    cells = {"A1": Cell(2.0), "B1": Cell(3.0)}
    cells.update({at: Cell(None, f) for at, f in formulas.items()})
    return Book((Sheet("S", cells, local or {}),), names)


def _formula(book: Book, at: str) -> str | None:
    return expanded(book).sheets[0].cells[at].formula


@pytest.mark.parametrize(
    ("text", "names", "want"),
    [
        ("=Half*A1", {"Half": "0.5"}, "=(0.5)*A1"),
        ("=half*A1", {"HALF": "=1/2"}, "=(1/2)*A1"),  # any case; a leading = as some write it
        ("=Diff^2", {"Diff": "S!$B$1-S!$A$1"}, "=(S!$B$1-S!$A$1)^2"),
        ("=Twice", {"Twice": "2*Half", "Half": "0.5"}, "=(2*(0.5))"),  # a name using a name
        ('="Half"&Half', {"Half": "0.5"}, '="Half"&(0.5)'),  # not inside a string
        ("='Half'!A1+Half", {"Half": "0.5"}, "='Half'!A1+(0.5)"),  # nor a sheet's name
        ("=Other!Half+Half", {"Half": "0.5"}, "=Other!Half+(0.5)"),  # another sheet's name
        ("=Half(A1)+Half", {"Half": "0.5"}, "=Half(A1)+(0.5)"),  # a call is a function's
        ("=T[Half]+Half", {"Half": "0.5"}, "=T[Half]+(0.5)"),  # a table's column
        ("=Halfway+Half2", {"Half": "0.5"}, "=Halfway+Half2"),  # whole names only
        ("=Tiny*2", {"Tiny": "S!$B$1"}, "=Tiny*2"),  # a range: the engine resolves it
        ("=Sq(A1)", {"Sq": "LAMBDA(x,x*x)"}, "=Sq(A1)"),  # a LAMBDA: called
        ("=_xlfn.XLOOKUP(A1,A1,B1)", {"_xlfn.XLOOKUP": "#NAME?"}, "=_xlfn.XLOOKUP(A1,A1,B1)"),
        ("=Loop", {"Loop": "Loop+1"}, "=" + "(" * 16 + "Loop" + "+1)" * 16),  # stops
    ],
)
def test_names_holding_a_formula_are_put_in_place(
    text: str, names: dict[str, str], want: str
) -> None:
    assert _formula(_book({"C1": text}, names), "C1") == want


def test_a_sheets_own_name_comes_before_the_books() -> None:
    book = _book({"C1": "=Rate*A1"}, {"Rate": "0.1"}, local={"Rate": "0.2"})
    assert _formula(book, "C1") == "=(0.2)*A1"


def test_a_book_without_such_names_is_the_same_object() -> None:
    """Ranges and text (sheetgen's own ``SHEETGEN_LAYOUT``) leave the book as it is: an
    80-80-1 network's 85,000 formulas are not rewritten for a label."""
    book = _book({"C1": "=Tiny*A1"}, {"Tiny": "S!$B$1", "SHEETGEN_LAYOUT": '"network"'})
    assert expanded(book) is book


def test_a_book_is_expanded_once() -> None:
    """A what-if evaluator, made from its parent's book, does not rewrite it again."""
    once = expanded(_book({"C1": "=Half*A1"}, {"Half": "0.5"}))
    assert expanded(once) is once


def test_the_engine_computes_names_and_the_learners_text_stays() -> None:
    book = _book({"C1": "=Half*A1+Diff"}, {"Half": "0.5", "Diff": "S!$B$1-S!$A$1"})
    ev = Evaluator(book)
    assert ev.evaluate([("S", "C1")])[("S", "C1")] == 2.0
    assert book.sheets[0].cells["C1"].formula == "=Half*A1+Diff"


def test_a_short_name_the_book_does_not_define_is_not_a_column() -> None:
    """``Err`` is also column ERR's letters: undefined, it is a name Excel cannot find
    (#NAME?), never the empty column read as 0."""
    ev = Evaluator(_book({"C1": "=Err^2/2"}, {}))
    ev.evaluate([("S", "C1")])
    problem = ev.problems.get(("S", "C1"))
    assert problem is not None and "does not define" in problem.message


@pytest.mark.parametrize(
    ("formula", "name", "text"),
    [
        ("Half*H2^2", "Half", "0.5"),
        ("Half*H2^2", "Half", "1/2"),
        ("Err^2/2", "Err", "Neuron!$F$2-Neuron!$G$2"),
    ],
)
def test_a_right_loss_written_with_a_name_is_right(
    tmp_path: Path, formula: str, name: str, text: str
) -> None:
    article = build(tmp_path / "a.xlsx", "single_neuron")
    loss = next(c.expected for c in verify_workbook(article, variants=0).cells if c.cell == "I2")
    named = stored(
        article, tmp_path / "n.xlsx", {"I2": cell("I2", formula, loss)}, names={name: text}
    )
    report = verify_workbook(named, variants=0)
    assert report.ok and report.exit_code == 0, [(c.cell, c.status) for c in report.attention]


@pytest.mark.parametrize(("name", "text"), [("Half", "0.6"), ("Err", "Neuron!$F$2-Neuron!$F$2")])
def test_a_wrong_name_makes_the_loss_wrong(tmp_path: Path, name: str, text: str) -> None:
    article = build(tmp_path / "a.xlsx", "single_neuron")
    formula = "Half*H2^2" if name == "Half" else "Err^2/2"
    named = stored(article, tmp_path / "n.xlsx", {"I2": cell("I2", formula)}, names={name: text})
    report = verify_workbook(named, variants=0)
    assert not report.ok
    assert "I2" in {c.cell for c in report.attention}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0.4", 0.4),
        (" 40% ", 0.4),
        ("40 %", 0.4),
        ("9%%", 0.0009),
        ("-1e-3", -0.001),
        (".5", 0.5),
        ("+2.", 2.0),
        ("1_0", None),
        ("inf", None),
        ("nan", None),
        ("1,5", None),
        ("%", None),
        ("", None),
        ("4O", None),
        ("1e999", None),
    ],
)
def test_text_read_as_excel_arithmetic_reads_it(text: str, number: float | None) -> None:
    from sheetgen.workbook.book import text_number

    assert text_number(text) == number


def test_a_parameter_typed_as_percent_text_is_read_as_excel_reads_it(tmp_path: Path) -> None:
    """B2 holding the text '40%' (typed with an apostrophe, or pasted from a web page): Excel
    (and Gnumeric: ``ssconvert --recalc``) computes the whole sheet with 0.4, so the sheet is
    right, its net (E2) 0.4 * 0.5 + 0.6 (and with '41%', 0.41 * 0.5 + 0.6)."""
    article = build(tmp_path / "a.xlsx", "single_neuron")
    for text, net in (("40%", 0.4 * 0.5 + 0.6), ("41%", 0.41 * 0.5 + 0.6)):
        xml = f'<c r="B2" t="inlineStr"><is><t>{text}</t></is></c>'
        report = verify_workbook(stored(article, tmp_path / "t.xlsx", {"B2": xml}), variants=0)
        assert report.ok, [(c.cell, c.status) for c in report.attention][:5]
        assert next(c.expected for c in report.cells if c.cell == "E2") == pytest.approx(net)


# Relative references in names: kept relative to A1 (Excel's storage; ``XFD1`` is one column
# left of A1, ``A1048576`` one row above), read from the cell using the name.
@pytest.mark.parametrize(
    ("at", "text", "names", "want"),
    [
        ("A3", "=Right*10", {"Right": "S!B1"}, "=(S!B3)*10"),
        ("C2", "=Left", {"Left": "S!XFD1"}, "=(S!B2)"),  # round the sheet's edge
        ("C3", "=Up", {"Up": "S!A1048576"}, "=(S!C2)"),
        ("A2", "=SUM(Band)", {"Band": "S!A1:B1"}, "=SUM((S!A2:B2))"),  # a range too
        ("C3", "=Col", {"Col": "S!$A1"}, "=(S!$A3)"),  # the anchored part stays
        ("C3", "=Twice", {"Twice": "Left*2", "Left": "S!XFD1"}, "=((S!B3)*2)"),  # the cell's
        ("C3", '=Lab&"A1"', {"Lab": '"B1"&S!B1'}, '=("B1"&S!D3)&"A1"'),  # not in quotes
    ],
)
def test_a_names_relative_references_are_read_from_the_cell_using_it(
    at: str, text: str, names: dict[str, str], want: str
) -> None:
    assert _formula(_book({at: text}, names), at) == want


def test_an_anchored_range_name_is_left_to_the_engine() -> None:
    book = _book({"C1": "=SUM(Both)"}, {"Both": "S!$A$1:$B$1"})
    assert expanded(book) is book


# A grid of numbers (r * 10 + c in row r, column c) and formulas reading it through relative
# names, as a learner's Name Manager could leave them; what each formula computes.
_GRID_NAMES = {
    "Right": "S!B1",  # one column right
    "Band": "S!A2:B2",  # the row below, this column and the next
    "Col": "S!$A2",  # column A, one row down
    "Left": "S!XFD1",  # one column left: round the edge
    "Up": "S!A1048576",  # one row up
    "Back": "S!XFC1:XFD1",  # the two cells to the left
    "Twice": "Left*2",
}
_GRID_FORMULAS = {  # cell: (formula, what it reads, worked out by hand)
    "C3": ("=Right*10", 340.0),  # D3
    "C4": ("=SUM(Band)", 107.0),  # C5 + D5
    "C6": ("=Col*2", 142.0),  # A7
    "E4": ("=Left+Up", 79.0),  # D4 + E3
    "E6": ("=SUM(Back)", 206.0),  # C6 (142) + D6
    "E8": ("=Twice", 168.0),  # D8 * 2
}
_WRAPPING = {"E4", "E6", "E8"}  # LibreOffice does not read Excel's edge-wrapped form


def _grid(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "S"
    for row in range(1, 11):
        for column in range(1, 9):
            ws.cell(row, column, value=float(row * 10 + column))
    for at, (formula, _) in _GRID_FORMULAS.items():
        ws[at] = formula
    for name, text in _GRID_NAMES.items():
        wb.defined_names[name] = DefinedName(name, attr_text=text)
    wb.save(path)
    return path


def _ours(path: Path) -> dict[str, object]:
    got = Evaluator(read_book(path.read_bytes())).evaluate([("S", at) for at in _GRID_FORMULAS])
    return {at: got[("S", at)] for at in _GRID_FORMULAS}


def _theirs(path: Path) -> dict[str, object]:
    """The values another application computed and saved (read by our reader: openpyxl warns
    of the styles Gnumeric leaves out)."""
    sheet = read_book(path.read_bytes()).sheets[0]
    return {at: sheet.cells[at].value for at in _GRID_FORMULAS}


def test_the_engine_reads_relative_names_from_the_cell_using_them(tmp_path: Path) -> None:
    assert _ours(_grid(tmp_path / "grid.xlsx")) == {
        at: want for at, (_, want) in _GRID_FORMULAS.items()
    }


def test_gnumeric_reads_relative_names_as_the_engine_does(tmp_path: Path) -> None:
    from .test_interop import needs

    ssconvert = shutil.which("ssconvert")
    needs("Gnumeric's ssconvert (apt install gnumeric)", ssconvert)
    assert ssconvert is not None
    src = _grid(tmp_path / "grid.xlsx")
    out = tmp_path / "gnumeric.xlsx"
    subprocess.run(
        [ssconvert, "--recalc", str(src), str(out)], capture_output=True, timeout=300, check=True
    )
    assert _theirs(out) == _ours(src)


@pytest.mark.libreoffice
def test_libreoffice_reads_relative_names_as_the_engine_does(tmp_path: Path) -> None:
    from .support import libreoffice as lo

    src = _grid(tmp_path / "grid.xlsx")
    out = tmp_path / "libreoffice.xlsx"
    lo.recalculate(src, out)
    theirs, ours = _theirs(out), _ours(src)
    assert {at: theirs[at] for at in ours if at not in _WRAPPING} == {
        at: v for at, v in ours.items() if at not in _WRAPPING
    }


@pytest.mark.parametrize(("text", "right"), [("Neuron!XFD1", True), ("Neuron!XFC1", False)])
def test_an_output_read_through_a_relative_name_is_judged(
    tmp_path: Path, text: str, right: bool
) -> None:
    """F2 = TANH(Net) with Net one cell to the left, as Excel stores it (E2: right); two cells
    to the left is the bias (wrong)."""
    article = build(tmp_path / "a.xlsx", "single_neuron")
    output = next(c.expected for c in verify_workbook(article, variants=0).cells if c.cell == "F2")
    named = stored(
        article, tmp_path / "n.xlsx", {"F2": cell("F2", "TANH(Net)", output)}, names={"Net": text}
    )
    report = verify_workbook(named, variants=0)
    assert report.ok is right, [(c.cell, c.status) for c in report.attention]
    if not right:
        assert "F2" in {c.cell for c in report.attention}


@pytest.mark.parametrize(
    ("formula", "rows", "columns", "moved"),
    [
        ("=XFD1", 0, 1, "=A1"),
        ("=A1+B2", -1, 0, "=A1048576+B1"),
        ("=S!A1048576:B1", 2, 2, "=S!C2:D3"),
        ("=$XFD$1+XFD$1", 0, 3, "=$XFD$1+C$1"),
    ],
)
def test_a_names_references_come_round_the_sheets_edge(
    formula: str, rows: int, columns: int, moved: str
) -> None:
    assert shift(formula, rows, columns, wrap=True) == moved


@pytest.mark.parametrize(
    ("address", "base", "want"),
    [
        ("$Data.B1", "$Data.$C$1", "Data!XFD1"),  # one column left of its base cell
        ("$Data.C3", "$Data.$C$4", "Data!A1048576"),  # one row up
        ("$Data.$B$11", "$Data.$C$5", "Data!$B$11"),
    ],
)
def test_an_ods_names_relative_references_are_kept_as_excel_keeps_them(
    address: str, base: str, want: str
) -> None:
    """LibreOffice keeps a name's relative references relative to its base cell; moved to
    A1 they come round the edge as Excel's do, and are moved back where the name is used."""
    assert range_to_excel(address, base) == want


def test_tiny_written_relative_moves_with_each_cell_as_in_excel(tmp_path: Path) -> None:
    """``Tiny`` as ``Neuron!B11`` (no ``$``): each faux row reads a cell that far from itself,
    as Excel and Gnumeric compute it (Gnumeric: #DIV/0! in every faux gradient), not B11."""
    article = build(tmp_path / "a.xlsx", "single_neuron")
    wb = openpyxl.load_workbook(article)
    wb.defined_names["Tiny"] = DefinedName("Tiny", attr_text="'Neuron'!B11")
    wb.save(tmp_path / "r.xlsx")
    report = verify_workbook(tmp_path / "r.xlsx", variants=0)
    assert not report.ok
    assert {"K6", "K7", "K8", "K9", "K10"} <= {c.cell for c in report.attention}
