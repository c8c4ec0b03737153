"""The edits learners really make: rows and columns inserted or deleted, a title row, the
table cut and pasted elsewhere, the sheet renamed or copied, the recorded layout dropped.

Each edit is made the way an application makes it (openpyxl, translating the formulas as a
spreadsheet app does; LibreOffice through UNO), across the article, variants, networks,
training runs and exercises. A right sheet must verify OK; a mistake must be named at the
cell's address *now*; a structure that cannot be mapped gets one sentence naming the label.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from sheetgen import a1, build
from sheetgen.check.verify import verify_workbook
from sheetgen.errors import LayoutNotFoundError
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout
from sheetgen.teacher.exercise import build_exercise

SPECS = [
    "single_neuron",
    "neuron:activation=sigmoid,loss=squared,difference=central,inputs=2,distance=yes",
    "network:layers=2-3-1,activation=tanh,loss=half-squared",
    "training:steps=6,learning_rate=0.1,activation=tanh,loss=half-squared",
    "training:layers=2-2-1,steps=3,learning_rate=0.1,activation=tanh,loss=half-squared",
]


def shifted(at: str, rows: int = 0, cols: int = 0) -> str:
    row, col = a1.split(at)
    return a1.name(row + rows, col + cols)


def moved_copy(src: Path, dst: Path, rows: int, cols: int, *, strip: bool = False) -> Path:
    """The whole sheet moved by (rows, cols), formulas and the Tiny name following, as a
    spreadsheet app moves them when a row or column is inserted above or before the table."""
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    ws.move_range(ws.dimensions, rows=rows, cols=cols, translate=True)
    for name in list(wb.defined_names):
        text = wb.defined_names[name].attr_text
        if name.upper() == "SHEETGEN_LAYOUT" and strip:
            del wb.defined_names[name]
        elif "!" in text:
            sheet, at = text.split("!")
            new = shifted(at.replace("$", ""), rows, cols)
            col, row = new.rstrip("0123456789"), new[len(new.rstrip("0123456789")) :]
            wb.defined_names[name] = DefinedName(name, attr_text=f"{sheet}!${col}${row}")
    wb.save(dst)
    return dst


def first_formula(layout: Layout, prefix: str) -> str:
    return next(c.at for c in layout.checked if c.formula and f".{prefix}" in f".{c.quantity}")


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize(("rows", "cols"), [(1, 0), (0, 1), (3, 2)])
def test_a_moved_table_verifies_and_names_mistakes_where_they_are(
    tmp_path: Path, spec: str, rows: int, cols: int
) -> None:
    layout = resolve_layout(spec)
    built = build(tmp_path / "built.xlsx", layout)
    right = moved_copy(built, tmp_path / "right.xlsx", rows, cols)
    assert verify_workbook(right, variants=0).ok
    # The same edit, recorded layout dropped: the sheet itself says what it is.
    bare = moved_copy(built, tmp_path / "bare.xlsx", rows, cols, strip=True)
    report = verify_workbook(bare, variants=0)
    assert report.ok and report.layout == layout.name
    # A mistake in the moved table is named at its current address.
    at = first_formula(layout, "global.")
    wb = openpyxl.load_workbook(right)
    now = shifted(at, rows, cols)
    wb.worksheets[0][now] = f"=({wb.worksheets[0][now].value[1:]})*2"
    wb.save(tmp_path / "wrong.xlsx")
    report = verify_workbook(tmp_path / "wrong.xlsx", variants=0)
    assert now in {c.cell for c in report.roots}, [c.cell for c in report.wrong]
    assert at not in {c.cell for c in report.wrong} or at == now


def test_an_exercise_moved_is_still_to_do_at_the_blanks_current_addresses(
    tmp_path: Path,
) -> None:
    layout = resolve_layout("single_neuron")
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    report = verify_workbook(moved_copy(path, tmp_path / "moved.xlsx", 2, 1), variants=0)
    blanks = {shifted(layout.by_quantity[q].at, 2, 1) for q in ("local.net", "global.weight")}
    assert {c.cell for c in report.todo} == blanks
    assert all(c.status in ("ok", "todo") or c.causes for c in report.cells)


def test_a_deleted_label_is_named_with_where_it_was_looked_for(tmp_path: Path) -> None:
    layout = resolve_layout("single_neuron")
    path = build(tmp_path / "a.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    label = next(c for c in layout.labels if c.text and c.text.startswith("Faux gradient of"))
    wb.worksheets[0][label.at] = None
    wb.save(path)
    with pytest.raises(LayoutNotFoundError) as err:
        verify_workbook(path)
    message = str(err.value)
    assert repr(label.text) in message and "looked for it" in message


def test_two_copies_of_the_table_on_one_sheet_are_ambiguous(tmp_path: Path) -> None:
    layout = resolve_layout("single_neuron")
    path = build(tmp_path / "a.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for spec in layout.cells:
        if not spec.decoration:
            ws[shifted(spec.at, 40)] = ws[spec.at].value
    wb.save(path)
    with pytest.raises(LayoutNotFoundError, match="more than once"):
        verify_workbook(path)


def test_the_sheet_with_the_work_is_judged_and_the_others_named(tmp_path: Path) -> None:
    layout = resolve_layout("single_neuron")
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3")
    wb = openpyxl.load_workbook(path)
    copy = wb.copy_worksheet(wb.worksheets[0])
    copy.title = "Mine"
    at = layout.by_quantity["local.net"].at
    copy[at] = layout.by_quantity["local.net"].formula
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert report.sheet == "Mine" and report.ok
    assert "'Neuron'" in report.choice and "--sheet" in report.choice
    other = verify_workbook(path, variants=0, sheet="Neuron")
    assert other.sheet == "Neuron" and [c.cell for c in other.todo] == [at]


# ---------------------------------------------------------------------------- LibreOffice


LO_CASES = [
    # (spec, structural edits, quantity to break or None)
    ("single_neuron", [{"op": "insert_rows", "at": 6}], None),
    ("single_neuron", [{"op": "remove_rows", "at": 5}], None),
    ("single_neuron", [{"op": "insert_rows", "at": 1}], "local.net"),
    ("single_neuron", [{"op": "insert_columns", "at": "A"}], "global.weight"),
    ("single_neuron", [{"op": "move", "range": "A1:K11", "to": "C5"}], "nudge.bias.gradient"),
    ("single_neuron", [{"op": "rename", "name": "Mine"}], None),
    (SPECS[1], [{"op": "insert_rows", "at": 3}, {"op": "insert_columns", "at": "C"}], None),
    (SPECS[2], [{"op": "insert_rows", "at": 8, "count": 2}], "global.n1_2.net"),
    (SPECS[3], [{"op": "insert_rows", "at": 7}], None),
    (SPECS[4], [{"op": "remove_columns", "at": "A"}, {"op": "insert_rows", "at": 1}], None),
    # "Copy sheet to a new workbook" keeps range names (Tiny), drops the recorded layout.
    (SPECS[1], [{"op": "to_new_workbook"}, {"op": "insert_rows", "at": 1}], "global.weight2"),
    (SPECS[2], [{"op": "to_new_workbook"}], "local.n2_1.net"),
    (SPECS[4], [{"op": "to_new_workbook"}, {"op": "insert_columns", "at": "B"}], None),
]


@pytest.mark.libreoffice
@pytest.mark.parametrize(("spec", "ops", "broken"), LO_CASES)
def test_libreoffice_structural_edits(
    tmp_path: Path, spec: str, ops: list[dict[str, object]], broken: str | None
) -> None:
    from .support.libreoffice import restructure

    layout = resolve_layout(spec)
    built = build(tmp_path / "built.xlsx", layout)
    out = tmp_path / "edited.xlsx"
    restructure(built, out, ops)
    if not any(op["op"] == "remove_columns" for op in ops):
        report = verify_workbook(out, variants=0)
        assert report.ok, [(c.cell, c.message) for c in report.wrong][:5]
    else:  # column A held labels: without them the table cannot be found, and it says so
        with pytest.raises(LayoutNotFoundError, match="looked for it"):
            verify_workbook(out, variants=0)
        return
    if broken is None:
        return
    right = verify_workbook(out, variants=0)
    where = {c.quantity: c.cell for c in right.cells}[broken]
    wrong = tmp_path / "wrong.xlsx"
    restructure(out, wrong, [], edits={where: "=1.5"}, sheet=right.sheet)
    report = verify_workbook(wrong, variants=0)
    assert where in {c.cell for c in report.wrong}, [c.cell for c in report.wrong]


@pytest.mark.libreoffice
def test_libreoffice_copied_sheet_with_the_work(tmp_path: Path) -> None:
    from .support.libreoffice import restructure

    layout = resolve_layout("single_neuron")
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3")
    at = layout.by_quantity["local.net"].at
    out = tmp_path / "copied.xlsx"
    restructure(
        path,
        out,
        [{"op": "copy_sheet", "name": "Neuron (2)"}],
        edits={at: layout.by_quantity["local.net"].formula or ""},
    )
    report = verify_workbook(out, variants=0)
    assert report.sheet == "Neuron (2)" and report.ok
    assert "'Neuron'" in report.choice


def test_numeric_text_in_an_input_is_read_as_excel_reads_it(tmp_path: Path) -> None:
    layout = resolve_layout("single_neuron")
    path = build(tmp_path / "a.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    at = layout.by_quantity["input"].at
    wb.worksheets[0][at] = "0.4"  # typed with an apostrophe, or pasted as text
    wb.save(path)
    report = verify_workbook(path)
    assert report.ok and report.parameters["input"] == 0.4
    assert any(w.startswith(f"{at} holds the text '0.4'") for w in report.warnings)


def test_network_reports_speak_plainly(tmp_path: Path) -> None:
    layout = resolve_layout(SPECS[2])
    path = build(tmp_path / "n.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    cell = layout.by_quantity["global.n1_3.net"]
    wb.worksheets[0][cell.at] = "=1.5"
    wb.save(path)
    report = verify_workbook(path, variants=0)
    root = next(c for c in report.roots if c.cell == cell.at)
    assert "Hint:" in root.explanation
    from sheetgen.report.render import to_text

    text = to_text(report)
    assert "neuron(layer 1, 3)" in text and "global.n1_3" not in text


def test_labels_are_compared_without_case_spaces_or_punctuation(tmp_path: Path) -> None:
    layout = resolve_layout("single_neuron")
    path = build(tmp_path / "a.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for spec in layout.labels:
        if spec.text and spec.text.endswith(":"):
            ws[spec.at] = spec.text.rstrip(":").replace("'", "").upper()
    wb.save(path)
    assert verify_workbook(path, variants=0).ok


def test_tiny_without_its_label_is_found_by_its_name(tmp_path: Path) -> None:
    layout = resolve_layout("single_neuron")
    path = build(tmp_path / "a.xlsx", layout)
    wb = openpyxl.load_workbook(path)
    row = a1.split(layout.by_quantity["tiny"].at)[0]
    for spec in layout.labels:
        if a1.split(spec.at)[0] == row:
            wb.worksheets[0][spec.at] = None  # the label and the aside beside Tiny, deleted
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert report.ok and report.parameters["tiny"] == layout.defaults["tiny"]


@pytest.mark.parametrize("spec", [SPECS[2], SPECS[3]])
def test_generated_exercises_moved_keep_their_blanks(tmp_path: Path, spec: str) -> None:
    layout = resolve_layout(spec)
    blank = next(c for c in layout.checked if c.formula and ".global." in f".{c.quantity}")
    path = build_exercise(tmp_path / "ex.xlsx", layout, blanks=blank.at)
    report = verify_workbook(moved_copy(path, tmp_path / "moved.xlsx", 2, 3), variants=0)
    assert [c.cell for c in report.todo] == [shifted(blank.at, 2, 3)]
    assert not [c for c in report.wrong if c.status != "todo" and not c.causes]


@pytest.mark.libreoffice
def test_libreoffice_exercise_filled_in_after_a_title_row(tmp_path: Path) -> None:
    from .support.libreoffice import restructure

    layout = resolve_layout("single_neuron")
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    e3, c4 = (layout.by_quantity[q] for q in ("local.net", "global.weight"))
    out = tmp_path / "done.xlsx"
    # The learner adds a title row, then fills the blanks where they are now: one right, one
    # wrong (a formula written for the old rows is what a slip looks like).
    right = "=1-" + shifted(layout.by_quantity["output"].at, 1) + "^2"
    restructure(
        path,
        out,
        [{"op": "insert_rows", "at": 1}],
        edits={"A1": "Alice's homework", shifted(e3.at, 1): right, shifted(c4.at, 1): "=C4*E4"},
    )
    report = verify_workbook(out, variants=0)
    assert [c.cell for c in report.roots] == [shifted(c4.at, 1)]
    assert not report.todo


@pytest.mark.libreoffice
@pytest.mark.parametrize("suffix", [".ods", ".xlsm"])
def test_libreoffice_moved_table_saved_in_other_formats(tmp_path: Path, suffix: str) -> None:
    from .support.libreoffice import restructure

    layout = resolve_layout(SPECS[2])
    built = build(tmp_path / "built.xlsx", layout)
    at = shifted(layout.by_quantity["global.n1_1.net"].at, 1, 1)
    out = tmp_path / f"edited{suffix}"
    restructure(
        built,
        out,
        [{"op": "insert_rows", "at": 1}, {"op": "insert_columns", "at": "A"}],
        edits={at: "=2"},
    )
    report = verify_workbook(out, variants=0)
    assert [c.cell for c in report.roots] == [at]


@pytest.mark.libreoffice
def test_libreoffice_training_step_row_deleted_is_said_plainly(tmp_path: Path) -> None:
    from .support.libreoffice import restructure

    layout = resolve_layout(SPECS[3])
    built = build(tmp_path / "built.xlsx", layout)
    step3 = a1.split(layout.by_quantity["step3.number"].at)[0]
    out = tmp_path / "deleted.xlsx"
    restructure(built, out, [{"op": "remove_rows", "at": step3}])
    with pytest.raises(LayoutNotFoundError, match="no row numbered 3") as err:
        verify_workbook(out)
    assert "--layout" not in str(err.value)  # the workbook says its layout: no need to
