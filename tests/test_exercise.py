"""Exercises: blanks to fill in, hints kept, per-learner inputs, and "to do" when verified."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, build_exercise, random_parameters, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.layouts.layout import Layout
from sheetgen.report.render import summary


def test_default_exercise_blanks_the_gradient_rows_and_keeps_labels_and_hints(
    tmp_path: Path, layout: Layout
) -> None:
    path = build_exercise(tmp_path / "ex.xlsx")
    ws = openpyxl.load_workbook(path)[layout.sheet]
    for row in (3, 4):
        for column in "BCDEF":
            cell = ws[f"{column}{row}"]
            assert cell.value is None, cell.coordinate
            assert cell.comment is not None and cell.comment.text.startswith("To do:")
    assert ws["A3"].value == "Real local gradients:" and ws["A4"].value == "Real global gradients:"
    assert "output²" in ws["E3"].comment.text  # the template's note became the hint
    assert ws["E2"].value == "=B2*C2+D2"  # the forward pass is given


def test_unfinished_exercise_lists_the_blanks_as_to_do(tmp_path: Path) -> None:
    report = verify_workbook(build_exercise(tmp_path / "ex.xlsx"), variants=0)
    assert not report.ok
    assert len(report.todo) == 10 and {c.status for c in report.wrong} == {"todo"}
    assert "10 cells to do" in summary(report)


def test_blanks_by_row_cell_or_quantity(tmp_path: Path) -> None:
    def blanks(choice: str) -> set[str]:
        path = build_exercise(tmp_path / f"{choice}.xlsx", blanks=choice)
        return {c.cell for c in verify_workbook(path, variants=0).todo}

    assert blanks("3") == {"B3", "C3", "D3", "E3", "F3"}
    assert blanks("E3,C4") == {"E3", "C4"}
    assert blanks("global.weight,2") == {"C4", "E2", "F2", "H2", "I2"}
    with pytest.raises(UsageError):
        build_exercise(tmp_path / "x.xlsx", blanks="A1")  # a label is not an answer
    with pytest.raises(UsageError):
        build_exercise(tmp_path / "y.xlsx", blanks="12")


def test_a_blank_others_depend_on_makes_them_wrong_because_of_it(tmp_path: Path) -> None:
    report = verify_workbook(build_exercise(tmp_path / "ex.xlsx", blanks="E3"), variants=0)
    assert [c.cell for c in report.todo] == ["E3"]
    assert {c.cell for c in report.inherited_from("E3")} == {"B4", "C4", "D4", "E4"}


def test_filling_in_the_blanks_makes_the_exercise_pass(tmp_path: Path, layout: Layout) -> None:
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4", seed=4)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.sheet]
    ws["E3"], ws["C4"] = "=1-F2*F2", "=E4*C3"  # the learner's own (equivalent) formulas
    wb.save(path)
    assert verify_workbook(path).ok


def test_seeds_give_each_learner_reproducible_different_inputs(
    tmp_path: Path, layout: Layout
) -> None:
    one, again, two = (random_parameters(layout, s) for s in (1, 1, 2))
    assert one == again and one != two
    for params in (one, two):
        for key in (c.quantity or "" for c in layout.inputs):
            default = layout.defaults[key]
            assert math.copysign(1, params[key]) == math.copysign(1, default)
            assert 0.4 * abs(default) <= abs(params[key]) <= 1.6 * abs(default)
    ws = openpyxl.load_workbook(build_exercise(tmp_path / "a.xlsx", seed=1))[layout.sheet]
    assert [ws[c.at].value for c in layout.inputs] == [one[c.quantity or ""] for c in layout.inputs]


def test_the_answer_key_is_the_normal_build_with_the_same_seed(tmp_path: Path) -> None:
    assert main(["build", "--exercise", "--seed", "7", "-o", str(tmp_path / "ex.xlsx")]) == 0
    assert main(["build", "--seed", "7", "-o", str(tmp_path / "key.xlsx")]) == 0
    ex = verify_workbook(tmp_path / "ex.xlsx", variants=0)
    key = verify_workbook(tmp_path / "key.xlsx", variants=0)
    assert key.ok and ex.parameters == key.parameters
    assert {c.cell: c.expected for c in ex.cells} == {c.cell: c.expected for c in key.cells}
    assert main(["verify", str(tmp_path / "ex.xlsx")]) == 1


def test_cli_blank_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ex.xlsx"
    assert main(["build", "--exercise", "--blank", "E3,C4", "-o", str(out)]) == 0
    assert main(["verify", str(out)]) == 1
    assert "2 cells to do" in capsys.readouterr().out
    assert main(["build", "--blank", "E3", "-o", str(tmp_path / "b.xlsx")]) == 2


def test_an_ordinary_empty_cell_is_empty_not_to_do(tmp_path: Path) -> None:
    path = build(tmp_path / "n.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["E3"] = None
    wb.save(path)
    statuses = {c.cell: c.status for c in verify_workbook(path, variants=0).cells}
    assert statuses["E3"] == "empty"


# --- Fair scores: only the blanks count, unfinished is not wrong --------------------------------


def _grade_row(path: Path) -> dict[str, object]:
    from sheetgen.teacher.grade import grade_class

    return grade_class([path], workers=1, variants=0).rows()[0]


def _fill_from_key(
    exercise: Path, key: Path, sheet: str, cells: dict[str, str] | None = None
) -> None:
    """Fill every recorded blank with the key's formula (or ``cells``' own), as a learner would."""
    from sheetgen.check.diagnose import recorded_todo

    wb = openpyxl.load_workbook(exercise)
    answers = openpyxl.load_workbook(key)[sheet]
    for at in recorded_todo(wb):
        wb[sheet][at] = (cells or {}).get(at, answers[at].value)
    wb.save(exercise)


def test_an_untouched_hand_out_scores_zero_and_reads_to_do(tmp_path: Path) -> None:
    path = build_exercise(tmp_path / "ex.xlsx")
    row = _grade_row(path)
    assert (row["score"], row["status"], row["roots"], row["wrong"]) == (0.0, "to do", 0, 0)
    assert (row["points"], row["points_possible"], row["todo"]) == (0.0, 10.0, 10)
    report = verify_workbook(path, variants=0)
    assert report.exercise and not report.roots and not report.attention
    context = [c for c in report.cells if c.context]
    assert context and all(c.ok for c in context)  # reported as context, not counted


def test_cells_reading_an_empty_blank_wait_and_are_no_root(tmp_path: Path) -> None:
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    report = verify_workbook(path, variants=0)
    assert {c.cell for c in report.waiting} == {"B4", "D4", "E4"}
    assert all(c.causes == ("E3",) and not c.root for c in report.waiting)
    assert not report.attention and not report.roots
    assert summary(report).startswith("TO DO: 0 of 2 cells to fill in right")
    row = _grade_row(path)
    assert (row["status"], row["wrong"], row["waiting"], row["score"]) == ("to do", 0, 3, 0.0)


def test_a_wrong_filled_blank_is_a_root_and_a_right_one_earns_its_point(
    tmp_path: Path, layout: Layout
) -> None:
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4", seed=3)
    wb = openpyxl.load_workbook(path)
    wb[layout.sheet]["E3"] = "=1-F2*F2"  # right
    wb[layout.sheet]["C4"] = "=E4+C3"  # wrong
    wb.save(path)
    report = verify_workbook(path, variants=0)
    assert [c.cell for c in report.roots] == ["C4"] and not report.waiting
    row = _grade_row(path)
    assert (row["status"], row["score"], row["right"], row["wrong"]) == ("wrong", 50.0, 1, 1)


def test_junit_fails_an_unfinished_workbook(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from sheetgen.teacher.grade import grade_class

    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    suites = ET.fromstring(grade_class([path], workers=1, variants=0).to_junit())
    suite = suites.find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2" and suite.get("skipped") == "3"
    assert {f.get("type") for f in suites.iter("failure")} == {"todo"}
    assert float(suite.get("time") or "x") >= 0 and suite.get("timestamp")


@pytest.mark.parametrize(
    "args",
    [
        ["network"],
        ["training", "--steps", "4"],
        ["training", "--steps", "3", "--layers", "2,2,1"],
        ["neuron", "--activation", "sigmoid"],
        ["neuron", "--loss", "squared", "--inputs", "2", "--difference", "central"],
    ],
)
def test_every_family_exercise_is_to_do_untouched_and_ok_when_filled(
    tmp_path: Path, args: list[str]
) -> None:
    ex, key = tmp_path / "ex.xlsx", tmp_path / "key.xlsx"
    assert main(["build", *args, "--exercise", "--seed", "5", "-o", str(ex)]) == 0
    assert main(["build", *args, "--seed", "5", "-o", str(key)]) == 0
    report = verify_workbook(ex, variants=0)
    assert report.todo and not report.attention and not report.roots, summary(report)
    assert _grade_row(ex)["score"] == 0.0
    _fill_from_key(ex, key, report.sheet)
    filled = verify_workbook(ex, variants=0)
    assert filled.ok, summary(filled)
    assert _grade_row(ex)["score"] == 100.0


def test_training_exercise_defaults_to_the_first_steps_gradients(tmp_path: Path) -> None:
    ex = tmp_path / "ex.xlsx"
    assert main(["build", "training", "--steps", "5", "--exercise", "-o", str(ex)]) == 0
    report = verify_workbook(ex, variants=0)
    quantities = {c.quantity for c in report.todo}
    assert quantities and all(q.startswith("step1.") for q in quantities)
    assert "step1.global.weight" in quantities and "step1.new.weight" in quantities


# --- Blanks marked by their notes when the recorded list is dropped ------------------------------


def _without_text_names(path: Path, out: Path) -> Path:
    """``path`` as an app that keeps range names only saves it: text-constant defined names
    (the recorded blanks and layout) and the custom document properties are gone."""
    wb = openpyxl.load_workbook(path)
    for name in [n for n, d in wb.defined_names.items() if "!" not in str(d.attr_text)]:
        del wb.defined_names[name]
    wb.custom_doc_props.props.clear()
    wb.save(out)
    return out


@pytest.mark.parametrize("args", [["neuron"], ["network"]])
def test_a_copy_without_the_recorded_blanks_reads_them_from_their_notes(
    tmp_path: Path, args: list[str]
) -> None:
    from sheetgen.check.diagnose import recorded_todo

    ex = tmp_path / "ex.xlsx"
    assert main(["build", *args, "--exercise", "--seed", "4", "-o", str(ex)]) == 0
    original = verify_workbook(ex, variants=0)
    copy = _without_text_names(ex, tmp_path / "copy.xlsx")
    assert not recorded_todo(openpyxl.load_workbook(copy))
    report = verify_workbook(copy, variants=0)
    assert report.exercise and not report.roots and not report.attention, summary(report)
    assert [c.cell for c in report.todo] == [c.cell for c in original.todo]
    row = _grade_row(copy)
    assert (row["score"], row["status"], row["wrong"]) == (0.0, "to do", 0)


def test_a_filled_in_copy_without_the_recorded_blanks_scores_its_blanks_only(
    tmp_path: Path, layout: Layout
) -> None:
    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4", seed=3)
    copy = _without_text_names(path, tmp_path / "copy.xlsx")
    wb = openpyxl.load_workbook(copy)
    wb[layout.sheet]["E3"] = "=1-F2*F2"  # right; the "To do" note stays, as learners leave it
    wb.save(copy)
    report = verify_workbook(copy, variants=0)
    assert [c.cell for c in report.todo] == ["C4"] and not report.roots, summary(report)
    assert _grade_row(copy)["score"] == 50.0


@pytest.mark.libreoffice
@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_libreoffice_exercise_copied_to_a_new_workbook_is_still_to_do(
    tmp_path: Path, suffix: str
) -> None:
    from .support.libreoffice import restructure

    path = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    out = tmp_path / f"copied{suffix}"
    restructure(path, out, [{"op": "to_new_workbook"}, {"op": "insert_rows", "at": 1}])
    report = verify_workbook(out, variants=0)
    assert [c.cell for c in report.todo] == ["E4", "C5"], summary(report)
    assert not report.roots and not report.attention, summary(report)
    assert _grade_row(out)["score"] == 0.0
