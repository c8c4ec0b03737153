"""A teacher's term: hand-outs from a roster, collecting what an LMS hands back, copies
flagged, and the files course tools import."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import openpyxl
import pytest

from sheetgen import verify_workbook
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.teacher.exercise import build_class
from sheetgen.teacher.grade import grade_class
from sheetgen.teacher.roster import LEARNER_ID, SEED, read_roster, recorded_identity, seed_for

ROSTER = "Student ID;Full name\n1001;José Müller\n1002;Zoë O'Brien\n1003;Gina Rossi\n"


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "class.csv"
    path.write_bytes(ROSTER.encode("utf-8-sig"))  # as Excel saves "CSV UTF-8"
    return path


def _fill(path: Path, cells: dict[str, str]) -> None:
    wb = openpyxl.load_workbook(path)
    for at, formula in cells.items():
        wb.active[at] = formula
    wb.save(path)


def test_roster_reads_accents_bom_semicolons_and_lms_headers(roster: Path, tmp_path: Path) -> None:
    learners = read_roster(roster)
    assert [(p.id, p.name) for p in learners] == [
        ("1001", "José Müller"),
        ("1002", "Zoë O'Brien"),
        ("1003", "Gina Rossi"),
    ]
    split = tmp_path / "split.csv"
    split.write_text("Username,First name,Last name\nab12,Ana,Björk\n", encoding="cp1252")
    assert [(p.id, p.name) for p in read_roster(split)] == [("ab12", "Ana Björk")]
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\n1,2\n", encoding="utf-8")
    assert main(["build", "--exercise", "--roster", str(bad), "-o", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
    blank_first = tmp_path / "blank.csv"  # blank lines skipped, the lines still counted
    blank_first.write_text("\nid,name\n\n1,Ann\n,Bob\n")
    with pytest.raises(UsageError, match="Line 5 of the roster"):
        read_roster(blank_first)
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    with pytest.raises(UsageError, match="not a regular file"):  # not a wait for a writer
        read_roster(pipe)


def test_a_class_from_a_roster_is_reproducible_and_records_who_and_seed(
    roster: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hand-out"
    assert main(["build", "--exercise", "--roster", str(roster), "-o", str(out)]) == 0
    hand_outs = sorted(out.iterdir())
    keys = sorted((tmp_path / "hand-out-keys").glob("*-key.xlsx"))
    assert [p.name for p in hand_outs] == [
        "1001-Jose_Muller.xlsx",
        "1002-Zoe_O_Brien.xlsx",
        "1003-Gina_Rossi.xlsx",
    ]
    assert len(keys) == 3
    params = []
    for hand, key in zip(hand_outs, keys, strict=True):
        props = recorded_identity(hand)
        assert props[SEED] == str(seed_for(props[LEARNER_ID]))
        h, k = verify_workbook(hand, variants=0), verify_workbook(key, variants=0)
        assert k.ok and h.parameters == k.parameters and h.todo
        params.append(tuple(h.parameters.values()))
    assert len(set(params)) == 3  # each learner their own numbers
    again = tmp_path / "again"
    build_class(roster, again)
    assert verify_workbook(again / hand_outs[0].name, variants=0).parameters == dict(
        zip(verify_workbook(hand_outs[0], variants=0).parameters, params[0], strict=True)
    )
    # Refused as a whole before anything is overwritten.
    assert main(["build", "--exercise", "--roster", str(roster), "-o", str(out)]) == 2


def test_no_hints_notes_say_what_a_cell_means_without_the_formula(tmp_path: Path) -> None:
    out = tmp_path / "ex.xlsx"
    assert main(["build", "--exercise", "--no-hints", "--blank", "E3", "-o", str(out)]) == 0
    note = openpyxl.load_workbook(out).active["E3"].comment.text
    assert note.startswith("To do: Compute") and "tanh" not in note and "output²" not in note


def _lms_download(roster: Path, tmp_path: Path) -> Path:
    """Moodle's layout: one folder per learner, every file called neuron.xlsx."""
    hand = tmp_path / "hand-out"
    build_class(roster, hand, blanks="E3,C4")
    down = tmp_path / "download"
    folders = {
        "1001": "José Müller_1001_assignsubmission_file_",
        "1002": "Zoë O'Brien_1002_assignsubmission_file_",
        "1003": "Gina Rossi_1003_assignsubmission_file_",
    }
    for learner in read_roster(roster):
        (down / folders[learner.id]).mkdir(parents=True)
    jose = down / folders["1001"] / "neuron.xlsx"
    shutil.copy(hand / "1001-Jose_Muller.xlsx", jose)
    _fill(jose, {"E3": "=1-F2*F2", "C4": "=E4*C3"})
    zoe = down / folders["1002"] / "neuron.xlsm"  # .xlsm: what some learners save
    shutil.copy(hand / "1002-Zoe_O_Brien.xlsx", zoe)
    shutil.copy(jose, down / folders["1003"] / "neuron.xlsx")  # Gina hands in José's file
    (down / folders["1003"] / "notes.pdf").write_bytes(b"%PDF-1.4")
    (down / folders["1003"] / "~$neuron.xlsx").write_bytes(b"lock")
    (down / folders["1002"] / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (down / "__MACOSX").mkdir()
    (down / "export.ods").write_bytes(b"not really an ods")
    return down


def test_grading_an_lms_download_names_learners_flags_copies_lists_skips(
    roster: Path, tmp_path: Path
) -> None:
    down = _lms_download(roster, tmp_path)
    result = grade_class([down], workers=1, variants=0, roster=roster)
    rows = {r["learner"]: r for r in result.rows()}
    assert set(rows) == {"José Müller", "Zoë O'Brien", "Gina Rossi"}
    assert (rows["José Müller"]["id"], rows["José Müller"]["score"]) == ("1001", 100.0)
    assert rows["Zoë O'Brien"]["status"] == "to do" and rows["Zoë O'Brien"]["id"] == "1002"
    gina = rows["Gina Rossi"]["flags"]
    assert "hand-out of José Müller" in gina and "byte-identical" in gina
    assert "byte-identical to the submission of Gina Rossi" in rows["José Müller"]["flags"]
    # A file on no learner of the roster is listed apart, no learner's row.
    (export,) = result.unmatched_rows()
    assert export["learner"] == "export" and export["status"] == "unmatched" and export["reason"]
    skipped = dict(result.skipped)
    assert set(map(Path, skipped)) == {
        down / "Gina Rossi_1003_assignsubmission_file_" / "notes.pdf",
        down / "Gina Rossi_1003_assignsubmission_file_" / "~$neuron.xlsx",
        down / "Zoë O'Brien_1002_assignsubmission_file_" / "old.xls",
        down / "__MACOSX",
    }
    assert (
        "save it as .xlsx"
        in skipped[str(down / "Zoë O'Brien_1002_assignsubmission_file_" / "old.xls")]
    )
    text = result.to_text()
    assert "Warning: Gina Rossi:" in text and "Skipped 4 files:" in text


def test_without_a_roster_repeated_file_names_take_the_folder(tmp_path: Path) -> None:
    from sheetgen import build

    for who in ("alice", "bob"):
        (tmp_path / who).mkdir()
        build(tmp_path / who / "neuron.xlsx", input=0.1 if who == "alice" else 0.2)
    rows = grade_class([tmp_path], workers=1, variants=0).rows()
    assert sorted(r["learner"] for r in rows) == ["alice", "bob"]
    assert all(r["flags"] == "" for r in rows)  # same template, own numbers: no copy


def test_csv_opens_in_excel_and_gradebooks_have_their_columns(
    roster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    down = _lms_download(roster, tmp_path)
    out = tmp_path / "grades.csv"
    args = ["grade", str(down), "--roster", str(roster), "--no-progress", "--variants", "0"]
    assert main([*args, "-o", str(out)]) == 1
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "José Müller".encode() in raw
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {"id", "learner", "score", "points", "points_possible", "flags"} <= set(table[0])
    latin = tmp_path / "latin.csv"
    assert main([*args, "-o", str(latin), "--encoding", "latin-1"]) == 1
    assert "José".encode("latin-1") in latin.read_bytes()

    canvas = tmp_path / "canvas.csv"
    assert main([*args, "-o", str(canvas), "--format", "canvas", "--points", "10"]) == 1
    lines = list(csv.reader(io.StringIO(canvas.read_bytes().decode("utf-8-sig"))))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "sheetgen"]
    assert lines[1][0] == "Points Possible" and lines[1][-1] == "10"
    assert ["José Müller", "", "1001", "", "", "10"] in lines

    moodle = tmp_path / "moodle.csv"
    assert main([*args, "-o", str(moodle), "--format", "moodle", "--assignment", "Lab 1"]) == 1
    lines = list(csv.reader(io.StringIO(moodle.read_bytes().decode("utf-8-sig"))))
    assert lines[0] == ["ID number", "Full name", "Lab 1", "Feedback"]
    assert ["1001", "José Müller", "100", lines[1][3]] in lines or any(
        r[:3] == ["1001", "José Müller", "100"] for r in lines
    )
    capsys.readouterr()


def test_json_has_a_class_summary(roster: Path, tmp_path: Path) -> None:
    down = _lms_download(roster, tmp_path)
    doc = json.loads(grade_class([down], workers=1, variants=0, roster=roster).to_json())
    summary = doc["summary"]
    assert summary["workbooks"] == 3 and summary["ok"] == 2 and summary["unreadable"] == 0
    assert summary["unmatched"] == 1 and summary["missing"] == 0
    assert summary["flagged"] == 2 and summary["skipped"] == 4
    assert summary["points_possible"] == 2.0
    assert {s["reason"] for s in doc["skipped"]}


def test_names_match_folders_as_whole_words(tmp_path: Path) -> None:
    from sheetgen.teacher.grade import Graded, identify
    from sheetgen.teacher.roster import Learner

    roster = (Learner("7", "Li"), Learner("1003", "Gina Rossi"))
    files = [
        tmp_path / "Alice Li_77_assignsubmission_file_" / "a.xlsx",
        tmp_path / "Alicia_78_assignsubmission_file_" / "a.xlsx",  # "li" inside a word: no
        tmp_path / "gina_1003" / "a.xlsx",  # by id
    ]
    named = identify([Graded(str(f), None, "x") for f in files], [tmp_path], roster)
    assert [(g.learner_id, g.name) for g in named] == [
        ("7", "Li"),
        ("", "Alicia_78_assignsubmission_file_"),
        ("1003", "Gina Rossi"),
    ]


def test_a_folder_without_workbooks_says_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "essay.pdf").write_bytes(b"%PDF")
    assert main(["grade", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "essay.pdf: not a workbook (.pdf)" in err
