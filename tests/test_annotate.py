"""The feedback workbook: wrong cells marked and commented, the learner's file untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from sheetgen import annotate, verify_workbook
from sheetgen._annotate import FILLS
from sheetgen.cli import main
from sheetgen.errors import OutputExistsError, UsageError

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
