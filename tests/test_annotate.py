"""The feedback workbook: wrong cells marked and commented, the learner's file untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from sheetgen import annotate, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import OutputExistsError, UsageError
from sheetgen.report.annotate import FILLS, note_sizes

Make = Callable[..., Path]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_wrong_cells_are_filled_and_commented(make: Make, tmp_path: Path) -> None:
    learner = make(edits={"E3": "=1-F2"})
    before = digest(learner)
    report = verify_workbook(learner, variants=0)
    out = annotate(report, tmp_path / "feedback.xlsx")
    assert digest(learner) == before
    ws = openpyxl.load_workbook(out)[report.sheet]
    assert ws["E3"].fill.fgColor.rgb.endswith(FILLS["root"].fgColor.rgb[-6:])
    assert ws["E4"].fill.fgColor.rgb.endswith(FILLS["inherited"].fgColor.rgb[-6:])
    assert "=1-F2" in ws["E3"].comment.text and "should be 0.559" in ws["E3"].comment.text
    assert "because d output/d net (E3)" in ws["E4"].comment.text
    assert ws["E3"].value == "=1-F2"  # the learner's work is kept as it was
    assert ws["E2"].comment.text.startswith("Net")  # right cells keep their notes


def test_cli_annotate_refuses_to_overwrite_and_never_touches_the_original(
    make: Make, tmp_path: Path
) -> None:
    learner = make(edits={"E3": "=1-F2"})
    before = digest(learner)
    out = tmp_path / "fb.xlsx"
    assert main(["verify", str(learner), "--annotate", str(out)]) == 1
    first = digest(out)
    assert main(["verify", str(learner), "--annotate", str(out)]) == 2  # exists: refused
    assert digest(out) == first
    assert main(["verify", str(learner), "--annotate", str(out), "--force"]) == 1
    assert main(["verify", str(learner), "--annotate", str(learner), "--force"]) == 2
    assert digest(learner) == before


def test_library_refusals(make: Make, tmp_path: Path) -> None:
    learner = make()
    report = verify_workbook(learner, variants=0)
    out = annotate(report, tmp_path / "fb.xlsx")
    with pytest.raises(OutputExistsError):
        annotate(report, out)
    with pytest.raises(UsageError):
        annotate(report, learner, force=True)


def _cached_numbers(path: Path, sheet: str) -> dict[str, object]:
    ws = openpyxl.load_workbook(path, data_only=True)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def test_feedback_keeps_cached_values_and_note_sizes(tmp_path: Path) -> None:
    from sheetgen import build_exercise

    handout = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    report = verify_workbook(handout, variants=0)
    out = annotate(report, tmp_path / "fb.xlsx")
    before, after = _cached_numbers(handout, report.sheet), _cached_numbers(out, report.sheet)
    numbers = {k: v for k, v in before.items() if isinstance(v, float)}
    assert len(numbers) > 30 and all(after[k] == v for k, v in numbers.items())
    sizes = note_sizes(out)  # read from the VML, which openpyxl does not read
    assert sizes[(report.sheet, "E2")] == (260, 70) and sizes[(report.sheet, "C4")] == (360, 150)
    assert sizes == {**note_sizes(handout), **{(report.sheet, a): (360, 150) for a in ("E3", "C4")}}


def test_completed_blanks_lose_the_to_do_mark_and_untouched_cells_get_no_you_wrote(
    tmp_path: Path, make: Make
) -> None:
    from sheetgen import build_exercise

    handout = build_exercise(tmp_path / "ex.xlsx", blanks="E3,C4")
    wb = openpyxl.load_workbook(handout)
    wb.active["E3"] = "=1-F2*F2"
    wb.active["C4"] = "=E4+C3"
    wb.save(handout)
    report = verify_workbook(handout, variants=0)
    ws = openpyxl.load_workbook(annotate(report, tmp_path / "fb.xlsx"))[report.sheet]
    assert ws["E3"].fill.fill_type is None and not ws["E3"].comment.text.startswith("To do")
    assert ws["C4"].fill.fgColor.rgb.endswith(FILLS["root"].fgColor.rgb[-6:])
    assert "You wrote: =E4+C3" in ws["C4"].comment.text

    learner = make(edits={"E3": "=1-F2"})
    report = verify_workbook(learner, variants=0)
    ws = openpyxl.load_workbook(annotate(report, tmp_path / "fb2.xlsx"))[report.sheet]
    assert "You wrote" in ws["E3"].comment.text and "You wrote" not in ws["E4"].comment.text


class XMLSyntaxError(SyntaxError):
    """What lxml raises on XML it cannot parse (openpyxl uses lxml when it is installed)."""


XMLSyntaxError.__module__ = "lxml.etree"


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise XMLSyntaxError("Namespace prefix r for id on externalReference is not defined")


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("openpyxl.load_workbook", "could not be read as an .xlsx workbook: openpyxl, the"),
        ("openpyxl.workbook.workbook.Workbook.save", "could not be written back as a feedback"),
    ],
)
def test_annotate_turns_xml_parse_errors_into_one_sentence(
    make: Make,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    said: str,
) -> None:
    learner = make(edits={"E3": "=1-F2"})
    monkeypatch.setattr(target, _refuse)
    out = tmp_path / "fb.xlsx"
    assert main(["verify", str(learner), "--annotate", str(out), "--variants", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and said in err and "internal error" not in err, err
    assert str(learner) in err and not out.exists()
    # lxml's exception and its words are for whoever looks into it (the exception's chain),
    # not for the file's owner, who is told what to do instead.
    assert "XMLSyntaxError" not in err and "Namespace prefix" not in err, err
    assert "save it again as .xlsx" in err, err


def test_notes_sizes_unreadable_leave_the_default_sizes(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = make(edits={"E3": "=1-F2"})
    report = verify_workbook(learner, variants=0)
    monkeypatch.setattr("sheetgen.report.annotate.sheet_parts", _refuse)
    assert note_sizes(learner) == {}
    ws = openpyxl.load_workbook(annotate(report, tmp_path / "fb.xlsx"))[report.sheet]
    assert "=1-F2" in ws["E3"].comment.text
