"""Verify: edits that keep the maths right pass, edits that break it fail, naming the cell."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sheetgen import LayoutNotFoundError, a1, build, verify_workbook
from sheetgen.layouts.layout import Layout

from .conftest import edit


def test_the_built_workbook_verifies(article: Path) -> None:
    report = verify_workbook(article)
    assert report.ok
    assert report.layout == "single_neuron"
    assert len(report.cells) == 52
    assert {c.status for c in report.cells} == {"ok"}


@pytest.mark.parametrize(
    "changes",
    [
        {"input": 0.9},
        {"weight": -0.3},
        {"input": -2.0, "weight": 1.5, "bias": 0.25, "target": 0.99},
        {"tiny": 1e-7},
        {"tiny": 0.5},
        {"local.output": "={output}-{target}"},  # the error, computed again
        {"global.net": "=(1-{output}*{output})*{global.output}"},
        {"output": "=(EXP(2*{net})-1)/(EXP(2*{net})+1)"},  # tanh by hand
        {"loss": "=POWER({error},2)*0.5"},
        {"nudge.bias.input": 0.4},  # the article's own style: a plain number in a faux row
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_edits_that_keep_the_maths_right_pass(
    article: Path, tmp_path: Path, layout: Layout, changes: dict[str, object]
) -> None:
    report = verify_workbook(edit(article, tmp_path / "edited.xlsx", layout, changes))
    assert report.ok, [c.message for c in report.wrong]


@pytest.mark.parametrize(
    ("changes", "cell", "status"),
    [
        ({"local.net": "=1-{output}^3"}, "local.net", "wrong"),
        ({"global.weight": "={local.input}*{global.net}"}, "global.weight", "wrong"),
        ({"nudge.net.gradient": "=({nudge.net.loss}-{loss})/0.001"}, "nudge.net.gradient", "wrong"),
        ({"global.weight": -0.0080}, "global.weight", "typed"),
        ({"global.bias": -0.020105429430100793}, "global.bias", "typed"),  # even the exact value
        ({"net": None}, "net", "empty"),
        ({"error": "=1/0"}, "error", "error"),
        ({"loss": "oops"}, "loss", "text"),
        ({"output": "=TANH({net})+FOOBAR(1)"}, "output", "unsupported"),
    ],
    ids=lambda x: str(x) if not isinstance(x, dict) else ",".join(map(str, x.values())),
)
def test_edits_that_break_the_maths_fail_naming_the_cell(
    article: Path,
    tmp_path: Path,
    layout: Layout,
    changes: dict[str, object],
    cell: str,
    status: str,
) -> None:
    report = verify_workbook(edit(article, tmp_path / "broken.xlsx", layout, changes))
    assert not report.ok
    address = layout.by_quantity[cell].at
    verdict = next(c for c in report.cells if c.cell == address)
    assert verdict.status == status
    assert address in verdict.message
    if status == "wrong":
        assert verdict.expected is not None and f"{verdict.expected:.10g}" in verdict.message


def test_a_wrong_cell_says_what_it_should_be(article: Path, tmp_path: Path, layout: Layout) -> None:
    report = verify_workbook(
        edit(article, tmp_path / "b.xlsx", layout, {"local.net": "=1-{output}^3"})
    )
    bad = {c.cell: c for c in report.wrong}
    e3 = bad[layout.by_quantity["local.net"].at]
    assert e3.expected == pytest.approx(0.5590551677322437, rel=1e-12)
    assert e3.found == pytest.approx(1 - 0.6640367702678491**3, rel=1e-12)
    assert e3.formula == "=1-" + layout.by_quantity["output"].at + "^3"
    # Cells that read E3 are wrong too, and are reported: the learner sees the whole trail.
    assert layout.by_quantity["global.net"].at in bad


def test_unusable_parameters_are_named(article: Path, tmp_path: Path, layout: Layout) -> None:
    report = verify_workbook(edit(article, tmp_path / "t.xlsx", layout, {"tiny": 0}))
    tiny = next(c for c in report.cells if c.cell == layout.by_quantity["tiny"].at)
    assert tiny.status == "wrong" and "must not be 0" in tiny.message
    text = verify_workbook(edit(article, tmp_path / "x.xlsx", layout, {"input": "abc"}))
    assert any("must hold a number" in c.message for c in text.wrong)


def test_layout_is_found_on_a_renamed_sheet_that_is_not_first(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    wb = openpyxl.load_workbook(article)
    wb[layout.sheet].title = "My neuron"
    wb.create_sheet("Notes", 0)["A1"] = "learner's notes"
    del wb.defined_names["Tiny"]  # re-point the name at the renamed sheet, as Excel writes it
    row, column = a1.split(layout.by_quantity["tiny"].at)  # relative, it would move with each
    tiny = f"${a1.column_letter(column)}${row}"  # cell using it, as in Excel
    wb.defined_names["Tiny"] = openpyxl.workbook.defined_name.DefinedName(
        "Tiny", attr_text=f"'My neuron'!{tiny}"
    )
    wb.save(tmp_path / "renamed.xlsx")
    report = verify_workbook(tmp_path / "renamed.xlsx")
    assert report.ok and report.sheet == "My neuron"


def test_a_workbook_without_the_layout_is_refused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "shopping list"
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(LayoutNotFoundError, match="no sheet laid out"):
        verify_workbook(tmp_path / "other.xlsx")


def test_verify_never_modifies_its_input(article: Path) -> None:
    before, mtime = article.read_bytes(), article.stat().st_mtime_ns
    verify_workbook(article)
    assert article.read_bytes() == before and article.stat().st_mtime_ns == mtime


def test_workbooks_built_with_other_parameters_verify(tmp_path: Path) -> None:
    path = build(tmp_path / "w.xlsx", input=-1.2, weight=0.8, bias=-0.1, target=0.3, tiny=1e-5)
    assert verify_workbook(path).ok


def test_a_circular_reference_is_named_not_hung_on(
    article: Path, tmp_path: Path, layout: Layout
) -> None:
    broken = edit(article, tmp_path / "c.xlsx", layout, {"net": "={input}*{weight}+{bias}+{loss}"})
    report = verify_workbook(broken)
    by_cell = {c.cell: c for c in report.cells}
    net, faux = layout.by_quantity["net"].at, layout.by_quantity["nudge.bias.gradient"].at
    assert by_cell[net].status == "unsupported"
    assert "is part of a circular reference" in by_cell[net].message
    assert layout.by_quantity["loss"].at in by_cell[net].message
    assert "depends on a circular reference" in by_cell[faux].message
    assert by_cell[layout.by_quantity["local.net"].at].status == "unsupported"


def test_what_if_evaluation_never_touches_the_workbook(article: Path, layout: Layout) -> None:
    """Diagnosis asks "right once its inputs are right?" on an evaluator, not on the sheet."""
    import openpyxl as xl

    from sheetgen.engine.evaluate import Evaluator

    wb = xl.load_workbook(article)
    ws = wb[layout.sheet]
    before = {(c.coordinate, c.value) for row in ws.iter_rows() for c in row}
    net, output = layout.by_quantity["net"].at, layout.by_quantity["output"].at
    ev = Evaluator(wb)
    got = ev.what_if({(layout.sheet, net): 0.0}, [(layout.sheet, output)])
    assert got[(layout.sheet, output)] == 0.0  # TANH(0), computed from the override
    assert ev.evaluate([(layout.sheet, output)])[(layout.sheet, output)] == pytest.approx(
        0.6640367702678491, rel=1e-15
    )
    assert {(c.coordinate, c.value) for row in ws.iter_rows() for c in row} == before


@pytest.mark.parametrize(
    "spec",
    [
        "single_neuron",
        "training:steps=40,optimizer=adam",  # late steps: infinite growth, unchecked
        "training:layers=2-2-1,examples=4,steps=3,optimizer=momentum",
        "network:layers=2-3-2,loss=cross-entropy",
    ],
)
def test_every_verdict_is_the_one_judge_cell_gives(spec: str) -> None:
    """``check`` says the usual right cell is right without ``judge_cell``: held equal to it,
    cell by cell, on a sheet whose formulas are nudged by 0 to a few times the tolerance."""
    from sheetgen.check.judge import check, judge_cell, reference_for
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.workbook.book import Book, Cell, Sheet
    from sheetgen.writer.build import build_workbook, parameters

    layout = resolve_layout(spec)
    book = Book.of(build_workbook(layout, parameters(layout)))
    sheet = book.sheets[0]
    cells = dict(sheet.cells)
    for i, c in enumerate(layout.checked):
        if c.formula is not None and i % 2:
            cells[c.at] = Cell(None, f"=({c.formula[1:]})*(1+{(i % 9) * 4e-13})")
    changed = Sheet(sheet.title, cells, sheet.names)
    ev = Evaluator(Book((changed,), book.names))
    report = check(ev.book, changed, layout, evaluator=ev)
    expected = reference_for(layout, report.parameters)
    verdicts = report.cells[-len(layout.checked) :]
    statuses = set()
    for c, got in zip(layout.checked, verdicts, strict=True):
        ref = (sheet.title, c.at)
        problem = ev.problems.get(ref)
        assert got == judge_cell(c, ev.values[ref], ev.formula(ref), problem, expected)
        statuses.add(got.status)
    assert "ok" in statuses and "wrong" in statuses  # both sides of the tolerance were met
