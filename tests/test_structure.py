"""Structure, not only numbers: a right number from the wrong cells is a root cause.

What each cell must depend on comes from the layout's own formulas; these tests never list it
per cell either. They check both promises on every family: a cell that shows the right number
without reading what its quantity is computed from is caught and named, and a right sheet
whose learner reached the numbers by another route (helper cells, an inlined step, a moved
table) passes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import verify_workbook
from sheetgen.check import structure
from sheetgen.check.judge import check
from sheetgen.check.results import CellResult, Report
from sheetgen.check.structure import requirements, structure_faults
from sheetgen.engine.evaluate import Evaluator
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout
from sheetgen.report.render import to_text
from sheetgen.workbook.book import Book, Cell, Sheet
from sheetgen.writer.build import build, build_workbook, parameters

from .test_tolerance import FAMILIES, PINNED


def _judged(layout: Layout, edit: Any = None) -> Report:
    """The built sheet of ``layout``, changed in memory by ``edit(cells)``, judged."""
    book = Book.of(build_workbook(layout, parameters(layout)))
    sheet = book.sheets[0]
    cells = dict(sheet.cells)
    if edit is not None:
        edit(cells)
    changed = Sheet(sheet.title, cells, sheet.names)
    book = Book((changed,), book.names)
    ev = Evaluator(book)
    report = check(book, changed, layout, evaluator=ev)
    return Report(
        report.path,
        report.layout,
        report.sheet,
        report.parameters,
        structure_faults(ev, changed.title, layout, report.cells),
    )


def _helper_column(layout: Layout) -> str:
    """A column to the right of everything the layout writes."""
    last = max(re.sub(r"\d", "", c.at) for c in layout.cells)
    return "Z" if len(last) == 1 and last < "Z" else "ZZ"


@pytest.mark.parametrize("spec", FAMILIES)
def test_a_built_sheet_has_no_structure_fault(spec: str) -> None:
    report = _judged(resolve_layout(spec))
    assert report.ok, [(c.cell, c.message) for c in report.wrong][:3]


@pytest.mark.parametrize("spec", FAMILIES)
def test_every_formula_moved_to_a_helper_cell_still_passes(spec: str) -> None:
    """Each checked cell reads a helper that holds its formula: transitive dependencies."""
    layout = resolve_layout(spec)
    column = _helper_column(layout)

    def via_helpers(cells: dict[str, Cell]) -> None:
        for row, c in enumerate(layout.checked, start=1):
            if c.formula is not None:
                cells[f"{column}{row}"] = Cell(None, c.formula)
                cells[c.at] = Cell(None, f"={column}{row}")

    report = _judged(layout, via_helpers)
    assert report.ok, [(c.cell, c.message) for c in report.wrong][:3]


@pytest.mark.parametrize("spec", FAMILIES)
def test_every_right_number_from_a_typed_helper_is_caught(spec: str) -> None:
    """Each checked cell copies a helper that holds its right number, typed: every cell whose
    quantity depends on a parameter is a structure fault, named with what it misses."""
    layout = resolve_layout(spec)
    column = _helper_column(layout)
    right = {c.cell: c.expected for c in _judged(layout).cells}
    needs = requirements(layout)

    def copies(cells: dict[str, Cell]) -> None:
        for row, c in enumerate(layout.checked, start=1):
            if c.formula is not None:
                cells[f"{column}{row}"] = Cell(right[c.at])
                cells[c.at] = Cell(None, f"={column}{row}")

    report = _judged(layout, copies)
    for c in report.cells:
        if not c.graded:
            continue
        if needs.parameters.get(c.quantity):
            assert c.status == "structure", (c.cell, c.quantity, c.status)
            assert f"{c.cell} copies {column}" in c.message
        else:
            assert c.ok, (c.cell, c.status, c.message)


def _copying(path: Path, spec: str, faux: str, real: str, **params: Any) -> tuple[str, str]:
    """The message on quantity ``faux``'s cell made a copy of ``real``'s, and that cell."""
    layout = resolve_layout(spec)
    at = {q: c.at for q, c in layout.by_quantity.items()}
    build(path, layout, **params)
    wb = openpyxl.load_workbook(path)
    wb[layout.sheet][at[faux]] = f"={at[real]}"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert [c.cell for c in report.roots] == [at[faux]], [(c.cell, c.message) for c in report.wrong]
    assert report.roots[0].status == "structure"
    return report.roots[0].message, at[faux]


def test_a_faux_gradient_copying_the_real_one_is_caught(tmp_path: Path) -> None:
    """The issue's case: K12 = C4 in the central-difference variant is within the tolerance
    of the central difference (at Tiny = 1e-6), and checks nothing."""
    spec = "neuron:difference=central"
    message, faux = _copying(
        tmp_path / "cd.xlsx", spec, "nudge.weight.gradient", "global.weight", tiny=1e-6
    )
    real = resolve_layout(spec).by_quantity["global.weight"].at
    right = "The number is right but comes from the wrong cells."
    assert message.startswith(f"{right} {faux} copies {real}")
    assert "a faux gradient must come from the nudged losses, or it checks nothing" in message
    assert "Tiny (" in message


def test_a_network_faux_gradient_copying_the_real_one_is_caught(tmp_path: Path) -> None:
    """Where a weight's gradient is exactly 0 (its input is 0), so is its faux gradient: a copy
    of the real one shows the right number."""
    spec, params = PINNED[0]
    message, _ = _copying(
        tmp_path / "net.xlsx", spec, "nudge.w2_1_2.gradient", "nudge.w2_1_2.real", **params
    )
    assert "checks nothing" in message and "loss (w(layer 2, 2→1) + Tiny)" in message


def test_other_routes_to_the_right_number_pass(tmp_path: Path) -> None:
    """An inlined step, a helper sheet, a copy of an equivalent cell: all right."""
    layout = resolve_layout("single_neuron")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = build(tmp_path / "routes.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.sheet]
    # The loss from the output and target, the error skipped.
    ws[at["loss"]] = f"=({at['output']}-{at['target']})^2/2"
    # d loss / d net from the output and the error: d output / d net inlined.
    ws[at["global.net"]] = f"=(1-{at['output']}^2)*{at['error']}"
    # A faux gradient whose nudged loss is computed on another sheet.
    helper = wb.create_sheet("Work")
    nudged = at["nudge.bias.loss"]
    helper["A1"] = f"='{layout.sheet}'!{nudged}-'{layout.sheet}'!{at['loss']}"
    ws[at["nudge.bias.gradient"]] = f"=Work!A1/{at['tiny']}"
    # The error of the nudged net, from the nudged output and the first row's target.
    ws[at["nudge.net.error"]] = f"={at['nudge.net.output']}-{at['target']}"
    wb.save(path)
    report = verify_workbook(path, variants=3)
    assert report.ok, [(c.cell, c.message) for c in report.wrong]


def test_a_number_typed_in_place_of_a_parameter_is_caught_without_variants(
    tmp_path: Path,
) -> None:
    layout = resolve_layout("single_neuron")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = build(tmp_path / "typed.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.sheet]
    ws[at["net"]] = f"={at['input']}*0.5+{at['bias']}"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    cells = {c.cell: c for c in report.cells}
    assert [c.cell for c in report.roots] == [at["net"]]
    assert f"does not use weight ({at['weight']})" in cells[at["net"]].message


@pytest.mark.libreoffice
def test_a_table_moved_by_libreoffice_keeps_its_structure(tmp_path: Path) -> None:
    """Rows and a column inserted by LibreOffice move every formula: a right cell that reads a
    helper still passes, and the copied faux gradient is still caught, at its new address."""
    from .support.libreoffice import restructure

    layout = resolve_layout("neuron:difference=central")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = build(tmp_path / "cd.xlsx", layout, tiny=1e-6)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.sheet]
    ws["Z1"] = f"=({at['output']}-{at['target']})^2/2"
    ws[at["loss"]] = "=Z1"
    ws[at["nudge.weight.gradient"]] = f"={at['global.weight']}"
    wb.save(path)
    moved = tmp_path / "moved.xlsx"
    restructure(
        path,
        moved,
        [{"op": "insert_rows", "at": 1, "count": 3}, {"op": "insert_columns", "at": "A"}],
    )
    report = verify_workbook(moved, variants=0)
    roots = list(report.roots)
    assert [c.status for c in roots] == ["structure"], [(c.cell, c.message) for c in roots]
    row, column = re.fullmatch(r"([A-Z]+)(\d+)", at["nudge.weight.gradient"]).groups()  # type: ignore[union-attr]
    assert roots[0].cell == f"{chr(ord(row) + 1)}{int(column) + 3}"


def test_a_typed_learning_rate_is_caught_on_every_step(tmp_path: Path) -> None:
    """Each update of a training run types the learning rate: every one misses that parameter,
    however many steps of formulas lie between it and the start."""
    layout = resolve_layout("training:steps=20")
    rate = layout.by_quantity["learning_rate"].at
    path = build(tmp_path / "t.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.sheet]
    updates = [c for c in layout.checked if ".new." in (c.quantity or "") and c.formula]
    for c in updates:
        assert c.formula is not None and rate in c.formula.replace("$", "")
        ws[c.at] = c.formula.replace("$", "").replace(rate, repr(ws[rate].value))
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert {c.cell for c in report.roots} == {c.at for c in updates}
    assert all(c.status == "structure" and "learning rate" in c.message for c in report.roots)


@pytest.mark.parametrize(
    "spec, tiny",
    [
        ("neuron:difference=central", None),
        ("neuron:difference=central", 0.001),
        ("single_neuron", None),
    ],
)
def test_a_copy_of_the_real_gradient_that_is_also_wrong_is_explained_as_a_copy(
    tmp_path: Path, spec: str, tiny: float | None
) -> None:
    """At the sheet's own Tiny the copy is wrong by more than the tolerance: it is still a
    root, explained first by what it copies, then by its number."""
    params = {} if tiny is None else {"tiny": tiny}
    message, faux = _copying(
        tmp_path / "k.xlsx", spec, "nudge.weight.gradient", "global.weight", **params
    )
    real = resolve_layout(spec).by_quantity["global.weight"].at
    assert message.startswith(f"{faux} copies {real}, which does not come from ")
    assert "a faux gradient must come from the nudged losses, or it checks nothing." in message
    assert f"checks nothing. {faux} is " in message and "; it should be " in message


def test_a_formula_that_reads_one_cell_is_not_called_a_copy(tmp_path: Path) -> None:
    """``I2 = (F2-0.7)^2/2`` reads F2 and types the target: it copies nothing, and what it
    lacks is said; ``I2 = F2`` does copy."""
    layout = resolve_layout("single_neuron")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    messages = {}
    for name, formula in (("reads", f"=({at['output']}-0.7)^2/2"), ("copies", f"={at['output']}")):
        path = build(tmp_path / f"{name}.xlsx", layout)
        wb = openpyxl.load_workbook(path)
        wb[layout.sheet][at["loss"]] = formula
        wb.save(path)
        report = verify_workbook(path, variants=0)
        assert [c.cell for c in report.roots] == [at["loss"]]
        assert report.roots[0].status == "structure"
        messages[name] = report.roots[0].message
    loss, output = at["loss"], at["output"]
    assert messages["reads"] == (
        f"The number is right but comes from the wrong cells. {loss} reads {output} but neither"
        f" error ({at['error']}) nor, through it, target ({at['target']}): a loss must come from"
        " the errors, and so from the targets."
    )
    assert "copies" not in messages["reads"]
    assert messages["copies"].startswith(
        f"{loss} copies {output}, which comes neither from error ({at['error']}) nor, through it,"
        f" from target ({at['target']}): "
    )


def test_another_examples_target_is_said_in_plain_words(tmp_path: Path) -> None:
    """On a data set's sheet, an error that reads the next example's target (equal here, so
    the number is right): the example's target cell and the data table's cell it copies are
    named in words, never as quantity names, and the verdict says why a right number fails."""
    spec = "training:layers=2-2-1,examples=4,steps=3"
    layout = resolve_layout(spec)
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = build(tmp_path / "xor.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    error = at["step1.example2.n2_1.error"]
    output, target, other = (
        at[f"step1.{q}"] for q in ("example2.n2_1.output", "example2.target1", "example3.target1")
    )
    assert wb[layout.sheet][at["example2.target1"]].value == 1  # ...as is example 3's
    wb[layout.sheet][error] = f"={output}-{other}"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert [c.cell for c in report.roots] == [error]
    assert report.roots[0].message == (
        f"The number is right but comes from the wrong cells. {error} uses neither example 2's"
        f" target 1 ({target}) nor, through it, example 2's target 1 in the data table"
        f" ({at['example2.target1']}): an error must compare the output with its target."
    )
    row = next(line for line in to_text(report).splitlines() if line.startswith(error))
    assert "step 1: example 2's error of neuron(layer 2, 1)" in row
    assert row.endswith("FROM WRONG CELLS")


@pytest.mark.parametrize(
    "copy, source, said",
    [
        (
            "step1.example2.target1",
            "example3.target1",
            "copies {source}, which does not come from example 2's target 1 in the data table"
            " ({right}): an example's row must copy that example's data, or the step trains on"
            " another.",
        ),
        (
            "step2.w1_1_1",
            "step1.w1_1_1",
            "copies {source}, which does not come from new w(layer 1, 1→1) of step 1 ({right}):"
            " a step's weight or bias must be the one the step before it updated, or the"
            " training does not follow the updates.",
        ),
    ],
    ids=["data", "step"],
)
def test_a_copy_of_the_wrong_row_or_step_says_which_and_why(
    tmp_path: Path, copy: str, source: str, said: str
) -> None:
    layout = resolve_layout("training:layers=2-2-1,examples=4,steps=3")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = build(tmp_path / "xor.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    wb[layout.sheet][at[copy]] = f"={at[source]}"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert [c.cell for c in report.roots] == [at[copy]]
    right = layout.by_quantity[copy].formula or ""
    expected = said.format(source=at[source], right=right.removeprefix("="))
    assert f"{at[copy]} {expected}" in report.roots[0].message


@pytest.mark.parametrize("inlined", [True, False], ids=["inlined", "template"])
def test_a_cell_waiting_for_a_blank_is_not_missing_what_the_blank_will_bring(
    tmp_path: Path, inlined: bool
) -> None:
    """The output left blank in an exercise: a loss written inline from it (``(F2-G2)^2/2``)
    waits for it as the template's loss does; neither is a structure fault."""
    from sheetgen import build_exercise

    layout = resolve_layout("single_neuron")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = build_exercise(tmp_path / "ex.xlsx", layout, blanks=at["output"], seed=1)
    wb = openpyxl.load_workbook(path)
    if inlined:
        wb[layout.sheet][at["loss"]] = f"=({at['output']}-{at['target']})^2/2"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    loss = {c.cell: c for c in report.cells}[at["loss"]]
    assert loss.status == "waiting", (loss.status, loss.message)
    assert [c.cell for c in report.roots] == []


def _structure_both_ways(
    layout: Layout, edit: Any, names: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Sequence[CellResult], Sequence[CellResult]]:
    """The structure check of ``layout``'s built sheet changed by ``edit(cells)`` and
    ``names(names)``, as it is and with every cell read from its formula (no cell told by its
    template's very text)."""
    book = Book.of(build_workbook(layout, parameters(layout)))
    sheet = book.sheets[0]
    cells, book_names = dict(sheet.cells), dict(book.names)
    edit(cells)
    names(book_names, sheet.title)
    changed = Sheet(sheet.title, cells, sheet.names)
    book = Book((changed,), book_names)
    out = []
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(structure, "_names_as_laid_out", lambda *_: False)
        ev = Evaluator(book)
        report = check(book, changed, layout, evaluator=ev)
        out.append(structure_faults(ev, changed.title, layout, report.cells))
    return out[0], out[1]


@pytest.mark.parametrize("spec", FAMILIES[::2])
@pytest.mark.parametrize("how", ["right", "copies", "tiny elsewhere", "tiny on a copy"])
def test_a_cell_told_by_its_templates_text_is_told_as_its_formula_tells_it(
    spec: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell holding its template's very text is passed without reading its formula only where
    reading it gives the same verdict: every cell's verdict is the one its formula gives."""
    layout = resolve_layout(spec)
    column = _helper_column(layout)
    formulas = [c for c in layout.checked if c.formula is not None]

    def edit(cells: dict[str, Cell]) -> None:
        if how == "copies":  # every third formula copies a typed number
            for row, c in enumerate(formulas[::3], start=1):
                cells[f"{column}{row}"] = Cell(0.5)
                cells[c.at] = Cell(None, f"={column}{row}")
        if how == "tiny on a copy":
            tiny = layout.names.get("Tiny")
            if tiny is not None:
                cells[f"{column}1"] = Cell(None, f"={tiny}")

    def names(book_names: dict[str, str], title: str) -> None:
        if how.startswith("tiny") and "Tiny" in book_names:
            row = 1 if how == "tiny on a copy" else 2
            book_names["Tiny"] = f"'{title}'!${column}${row}"

    fast, slow = _structure_both_ways(layout, edit, names, monkeypatch)
    assert fast == slow
    if how == "copies":
        assert any(c.status == "structure" for c in fast)


@pytest.mark.parametrize("spec", [*FAMILIES, "training:steps=3,optimizer=adam"])
def test_a_templates_reads_told_cell_by_cell_are_the_layouts_requirements(spec: str) -> None:
    """What a root's template reads, told from its own formula's addresses where it says its
    template (``swaps.template_reads``, as the diagnosis and the typed numbers ask it), is
    what the layout's requirements say, for every cell, moved or not."""
    from sheetgen.check.swaps import template_reads
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.layouts.layout import relocated

    built = resolve_layout(spec)
    down = {}
    for c in built.cells:
        column, row = re.fullmatch(r"([A-Z]+)(\d+)", c.at).groups()  # type: ignore[union-attr]
        down[c.at] = f"{column}{int(row) + 1}"
    for layout in (built, relocated(built, down)):
        reads = structure.requirements(layout).reads
        for c in layout.cells:
            wanted = reads.get(c.quantity, ()) if c.formula is not None and c.quantity else ()
            assert template_reads(layout, c) == tuple(wanted), c.at
