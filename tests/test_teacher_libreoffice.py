"""A term with LibreOffice as the learners' spreadsheet: what they save keeps who they are,
and the feedback copy keeps what their file showed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheetgen import annotate, verify_workbook
from sheetgen.report.annotate import note_sizes
from sheetgen.teacher.exercise import build_class
from sheetgen.teacher.grade import grade_class
from sheetgen.teacher.roster import LEARNER_ID, recorded_identity

from .support import libreoffice as lo

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A roster hand-out, filled in (one blank right, one wrong) and saved by LibreOffice."""
    base = tmp_path_factory.mktemp("lo")
    roster = base / "class.csv"
    roster.write_text("id,name\n2001,Agnès Dupré\n2002,Björn Ek\n", encoding="utf-8")
    build_class(roster, base / "hand-out", blanks="E3,C4")
    (base / "returned" / "agnes").mkdir(parents=True)
    out = base / "returned" / "agnes" / "neuron.xlsx"
    lo.edit(base / "hand-out" / "2001-Agnes_Dupre.xlsx", out, {"E3": "=1-F2*F2", "C4": "=E4+C3"})
    return out, roster


def _chart(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(next(n for n in z.namelist() if n.startswith("xl/charts/chart")))


def test_libreoffice_keeps_the_recorded_learner_and_grade_finds_them(
    saved: tuple[Path, Path],
) -> None:
    path, roster = saved
    assert recorded_identity(path)[LEARNER_ID] == "2001"
    row = grade_class([path.parent.parent], workers=1, variants=0).rows()[0]  # no roster given
    assert (row["id"], row["learner"], row["score"]) == ("2001", "Agnès Dupré", 50.0)
    with_roster = grade_class([path.parent.parent], workers=1, variants=0, roster=roster)
    assert with_roster.rows()[0]["learner"] == "Agnès Dupré"


def test_feedback_keeps_libreoffices_cached_values_notes_and_chart(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    path, _ = saved
    report = verify_workbook(path, variants=0)
    out = annotate(report, tmp_path / "feedback.xlsx")

    def numbers(p: Path) -> dict[str, float]:
        ws = openpyxl.load_workbook(p, data_only=True)[report.sheet]
        return {
            c.coordinate: c.value for r in ws.iter_rows() for c in r if isinstance(c.value, float)
        }

    before = numbers(path)
    assert len(before) > 90 and numbers(out) == before
    sizes, kept = note_sizes(path), note_sizes(out)
    changed = {k for k in sizes if sizes[k] != kept.get(k)}
    assert changed == {(report.sheet, "C4")}  # only the note sheetgen wrote
    assert _chart(out) == _chart(path)


@pytest.mark.parametrize(
    ("how", "suffix"),
    [("save", ".xlsx"), ("save", ".ods"), ("to_new_workbook", ".xlsx")],
)
def test_the_signed_record_survives_libreoffice(tmp_path: Path, how: str, suffix: str) -> None:
    """Saved as .xlsx or .ods, or the sheet copied alone to a new workbook: the file still
    names its learner's hand-out (the keys folder checks it) and nothing is flagged."""
    from sheetgen.teacher.provenance import read_found, read_manifest

    roster = tmp_path / "class.csv"
    roster.write_text("id,name\n2001,Agnès Dupré\n2002,Björn Ek\n", encoding="utf-8")
    build_class(roster, tmp_path / "hand-out", blanks="E3,C4", hints=False)
    down = tmp_path / "down" / "2001"
    down.mkdir(parents=True)
    out = down / f"neuron{suffix}"
    src = tmp_path / "hand-out" / "2001-Agnes_Dupre.xlsx"
    edits = {"E3": "=1-F2*F2", "C4": "=E4*C3"}
    if how == "save":
        lo.edit(src, out, edits)
    else:
        lo.restructure(src, out, [{"op": "to_new_workbook"}], edits=edits)
    manifest = read_manifest(tmp_path / "hand-out-keys")
    found = read_found(out)
    assert [(k, e.learner_id) for k, e in manifest.whose(found)] == [("hand-out", "2001")]
    assert not manifest.forged(found)
    result = grade_class(
        [tmp_path / "down"],
        workers=1,
        variants=0,
        roster=roster,
        keys=tmp_path / "hand-out-keys",
    )
    row = next(r for r in result.rows() if r["id"] == "2001")
    assert (row["score"], row["points_possible"], row["flags"]) == (100.0, 2.0, "")
    # Hints stay off: the note that says so travelled with the title cell.
    wrong = tmp_path / f"wrong{suffix}"
    lo.edit(out, wrong, {"E3": "=1-F2"})
    assert not any("Hint:" in c.explanation for c in verify_workbook(wrong, variants=0).cells)
