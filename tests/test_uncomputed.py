""" "Could not compute" is a verdict of its own, never a wrong answer.

A formula that uses a function Excel or LibreOffice computes and the ``formulas`` engine does
not (``_xlfn.SEQUENCE``: Excel 365's, absent from formulas 1.3) is judged from the number the
learner's application saved beside it, and so is everything computed from it; with no number
saved it is "not checked": never a root cause, never wrong, out of the score, listed for review.
A name no application knows (a typo) stays wrong. The files are written as Excel stores such a
cell (``<f>`` and the ``<v>`` it computed, see ``tests/stored.py``): Excel cannot run here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sheetgen import verify_workbook
from sheetgen.report.render import to_dict, to_junit, to_text
from sheetgen.teacher.grade import grade_class, score

from .stored import cell, stored

OUTPUT = 0.6640367702678491  # the article's F2, tanh(0.8), as Excel saves it
# Excel 365: SEQUENCE(1, 1, start) is the one-cell array {start}. formulas 1.3.4 lacks it.
SEQUENCE_F2 = "_xlfn.SEQUENCE(1,1,TANH(E2))"


def _verify_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sheetgen", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_function_the_engine_lacks_is_checked_from_the_value_excel_saved(
    article: Path, tmp_path: Path
) -> None:
    path = stored(article, tmp_path / "seq.xlsx", {"F2": cell("F2", SEQUENCE_F2, OUTPUT)})
    report = verify_workbook(path)
    cells = {c.cell: c for c in report.cells}
    assert all(c.ok for c in report.cells)
    assert cells["F2"].saved == ("F2",) and "SEQUENCE" in cells["F2"].explanation
    assert "Checked from the value your application saved" in cells["F2"].explanation
    assert cells["I2"].saved == ("F2",) and cells["E2"].saved == ()  # downstream, not upstream
    assert not report.ok and report.exit_code == 3 and "F2" in [c.cell for c in report.review]
    assert not any("stale" in w for w in report.warnings)
    assert "NOT FULLY CHECKED" in to_text(report)
    result = _verify_cli(path)
    assert result.returncode == 3, result.stderr
    # In grade: the point is earned, the cell flagged for review.
    assert score(report) == 100.0
    (row,) = grade_class([path], workers=1).rows()
    assert row["status"] == "review" and "F2" in row["flags"] and row["score"] == 100.0
    junit = to_junit([("learner", report, None)])
    assert 'failures="0"' in junit and "saved" in junit


def test_a_wrong_value_saved_for_such_a_formula_is_wrong_at_that_cell(
    article: Path, tmp_path: Path
) -> None:
    """The wrong twin: the learner's formula (SEQUENCE starting at E2, no TANH) made Excel save
    0.8; the cell is the root cause, and what it feeds is wrong because of it."""
    path = stored(article, tmp_path / "seq.xlsx", {"F2": cell("F2", "_xlfn.SEQUENCE(1,1,E2)", 0.8)})
    report = verify_workbook(path)
    cells = {c.cell: c for c in report.cells}
    assert cells["F2"].status == "wrong" and cells["F2"].root
    assert "Checked from the value your application saved" in cells["F2"].explanation
    assert cells["H2"].causes == ("F2",)
    assert [c.cell for c in report.roots] == ["F2"] and report.exit_code == 1
    assert _verify_cli(path).returncode == 1


def test_without_a_saved_number_the_cell_and_what_it_feeds_are_not_checked(
    make: Callable[..., Path],
) -> None:
    """openpyxl saves no values: nothing computed from F2 can be checked."""
    report = verify_workbook(make("seq", {"F2": "=" + SEQUENCE_F2}))
    cells = {c.cell: c for c in report.cells}
    unchecked = {c.cell for c in report.cells if not c.checked}
    assert {"F2", "H2", "I2", "E3", "K6"} <= unchecked and "E2" not in unchecked
    assert not report.roots and not report.attention and report.exit_code == 3
    assert "Not checked" in cells["F2"].explanation and "SEQUENCE" in cells["F2"].message
    assert "F2" in cells["H2"].message
    assert not cells["F2"].scored and cells["E2"].scored and score(report) == 100.0
    junit = to_junit([("learner", report, None)])
    assert f'skipped="{len(unchecked)}"' in junit and 'failures="0"' in junit
    data = to_dict(report)
    assert set(data["review"]) == unchecked and data["exit_code"] == 3
    json.dumps(data)


def test_a_cell_fed_by_an_uncomputed_one_is_checked_from_its_own_saved_value(
    article: Path, tmp_path: Path
) -> None:
    path = stored(article, tmp_path / "seq.xlsx", {"F2": cell("F2", SEQUENCE_F2)})
    report = verify_workbook(path)
    cells = {c.cell: c for c in report.cells}
    assert cells["F2"].status == "uncomputed" and not cells["F2"].root
    assert cells["H2"].ok and cells["H2"].saved == ("H2",)
    assert cells["I2"].ok and cells["I2"].saved == ("H2",)
    assert report.exit_code == 3 and not any("stale" in w for w in report.warnings)


def test_a_name_no_application_knows_stays_wrong_even_with_a_saved_number(
    article: Path, tmp_path: Path
) -> None:
    """Excel saves a typo's #NAME? (``t="e"``); a number beside it (hand-edited) changes nothing."""
    for xml in (
        '<c r="F2" t="e"><f>TAHN(E2)</f><v>#NAME?</v></c>',
        cell("F2", "TAHN(E2)", OUTPUT),
    ):
        report = verify_workbook(stored(article, tmp_path / "typo.xlsx", {"F2": xml}))
        cells = {c.cell: c for c in report.cells}
        assert cells["F2"].root and cells["F2"].status == "unsupported" and not cells["F2"].saved
        assert "TAHN" in cells["F2"].explanation and "#NAME?" in cells["F2"].explanation
        assert report.exit_code == 1


def test_a_google_sheets_only_function_is_checked_from_sheets_saved_value(
    article: Path, tmp_path: Path
) -> None:
    """Google Sheets exports a function only it has as ``__xludf.DUMMYFUNCTION("...")`` beside
    the value it computed."""
    formula = '__xludf.DUMMYFUNCTION("TANH(E2)+0*GOOGLEFINANCE(""X"")")'
    right = stored(article, tmp_path / "gs.xlsx", {"F2": cell("F2", formula, OUTPUT)})
    report = verify_workbook(right)
    assert report.exit_code == 3 and all(c.ok for c in report.cells)
    wrong = stored(article, tmp_path / "gs2.xlsx", {"F2": cell("F2", formula, 0.5)})
    assert [c.cell for c in verify_workbook(wrong).roots] == ["F2"]


def test_the_feedback_copy_marks_a_cell_not_checked_grey_never_red(
    make: Callable[..., Path], tmp_path: Path
) -> None:
    import openpyxl

    from sheetgen.report.annotate import FILLS, annotate

    report = verify_workbook(make("seq", {"F2": "=" + SEQUENCE_F2}))
    written = annotate(report, tmp_path / "feedback.xlsx")
    ws = openpyxl.load_workbook(written)[report.sheet]
    for at in ("F2", "H2"):
        assert ws[at].fill.fgColor.rgb == FILLS["review"].fgColor.rgb
        assert "Not checked" in ws[at].comment.text


def test_the_class_report_flags_the_cells_to_review(article: Path, tmp_path: Path) -> None:
    path = stored(article, tmp_path / "seq.xlsx", {"F2": cell("F2", SEQUENCE_F2, OUTPUT)})
    result = grade_class([path], workers=1)
    assert "checked from the values the file saved: F2" in result.render("html")


def test_grade_exits_3_when_nothing_is_wrong_but_a_cell_was_not_computed(
    article: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    stored(article, folder / "a.xlsx", {"F2": cell("F2", SEQUENCE_F2, OUTPUT)})
    result = subprocess.run(
        [sys.executable, "-m", "sheetgen", "grade", str(folder), "--no-progress", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr


def test_grades_text_counts_and_names_the_workbooks_to_review(
    article: Path, make: Callable[..., Path], tmp_path: Path
) -> None:
    """A workbook checked from saved values, one with cells not checked: neither all right nor
    wrong, both counted "to review", each naming its cells; missing learners stay apart."""
    saved = stored(article, tmp_path / "saved.xlsx", {"F2": cell("F2", SEQUENCE_F2, OUTPUT)})
    unchecked = make("unchecked", {"F2": "=" + SEQUENCE_F2})
    text = grade_class([saved, unchecked], workers=1).to_text()
    assert (
        "2 workbooks: 0 all right, 0 with wrong cells, 0 unfinished, 2 to review, 0 unreadable."
        in text
    )
    table = text.split("\n\n")[0].splitlines()[2:]
    rows = {line.split()[0]: line for line in table}
    assert set(rows) == {"saved", "unchecked"}
    assert all(" 100% " in row and "review by hand: F2 H2 I2" in row for row in rows.values())
    assert "To review by hand: saved: checked from the values the file saved: F2 H2" in text
    assert "To review by hand: unchecked: not checked (sheetgen cannot compute them): F2 H2" in text
