"""Exercises: blanks to fill in, hints kept, per-learner inputs, and "to do" when verified."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest

from sheetgen import build, build_exercise, random_parameters, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.layout import Layout
from sheetgen.report import summary


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
