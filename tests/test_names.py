"""Defined names holding a number or a formula (Excel's Name Manager: ``Half`` refers to
``=0.5``), computed where formulas use them, as Excel does."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen import build, verify_workbook
from sheetgen.engine.evaluate import Evaluator
from sheetgen.engine.names import expanded
from sheetgen.workbook.book import Book, Cell, Sheet

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
