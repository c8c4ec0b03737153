"""What a learner, a teacher and a teacher's script trip over, found by using an installed
wheel as they do (the README's commands, files other applications saved, the web page, a
class's grading): each test the smallest reproducer of one problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetgen import build
from sheetgen.cli import main
from sheetgen.errors import TemplateError
from sheetgen.layouts.families import resolve_layout

from .data_twins import trained_cells


@pytest.mark.parametrize("spec", ["nosuch", "nosuch:a=1", "Network:layers=3-2-1"])
def test_an_unknown_layout_names_the_families_a_user_can_give(spec: str) -> None:
    """`verify --layout nosuch` said "(known: single_neuron)": the neuron, network and
    training families, which a user can give too, were not named."""
    with pytest.raises(TemplateError) as caught:
        resolve_layout(spec)
    said = str(caught.value)
    assert "single_neuron" in said and "sheetgen templates" in said, said
    for name in ("neuron:", "network:", "training:"):
        assert name in said, said
    assert said.count("\n") == 0


def test_a_layer_list_written_with_commas_in_a_spec_says_how_to_write_it() -> None:
    """`--layout network:layers=3,2,1` (the form `build --layers` takes) said only "Layout
    option '2' should look like key=value"."""
    with pytest.raises(TemplateError, match=r"layers=3-2-1"):
        resolve_layout("network:layers=3,2,1")


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("canvas", "x.json"), ("moodle", "grades.xlsx"), ("html", "r.csv"), ("junit", "r.txt")],
)
def test_a_format_is_not_written_under_another_formats_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str
) -> None:
    """`grade --format canvas -o x.json` wrote Canvas's CSV into a file named .json with no
    word said (and `--format moodle -o grades.xlsx` a CSV that Excel then refuses to open)."""
    built = build(tmp_path / "a.xlsx", "single_neuron")
    argv = ["grade", str(built), "--variants", "0", "--workers", "1", "--format", fmt]
    assert main([*argv, "-o", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fmt in err and name in err, err
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(
    ("fmt", "name"), [("canvas", "grades.csv"), ("moodle", "Grades.CSV"), ("html", "report")]
)
def test_a_format_is_written_under_its_own_name_or_a_name_of_no_format(
    tmp_path: Path, fmt: str, name: str
) -> None:
    built = build(tmp_path / "a.xlsx", "single_neuron")
    argv = ["grade", str(built), "--variants", "0", "--workers", "1", "--format", fmt]
    assert main([*argv, "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / name).stat().st_size > 0


def test_the_limit_a_refusal_suggests_lets_the_file_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A part of 209,715,207 bytes was told "a file you trust passes with --limit
    max_entry_bytes=2.09715e+08": 209,715,000, which refuses it again."""
    import re
    import zipfile

    big = tmp_path / "big.xlsx"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * 1_234_556 + b"</a>")
    argv = ["verify", str(big), "--variants", "0"]
    assert main([*argv, "--limit", "max_entry_bytes=1000000"]) == 2
    found = re.search(r"--limit (max_entry_bytes=\S+?)\)", capsys.readouterr().err)
    assert found is not None
    assert main([*argv, "--limit", found.group(1)]) == 2
    assert "max_entry_bytes" not in capsys.readouterr().err


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_a_learner_with_two_files_has_one_grade_book_row_their_best(
    tmp_path: Path, lms: str
) -> None:
    """A learner's folder with a draft beside the final made two Canvas (and Moodle) rows with
    the same id, 0 and 100: which one the import keeps depends on the file names' order."""
    import csv
    import io

    from sheetgen import build_exercise, grade_class

    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns001,Ana\ns002,Bo\n", encoding="utf-8")
    build(tmp_path / "down" / "s001" / "a-final.xlsx", "single_neuron")
    build_exercise(tmp_path / "down" / "s001" / "z-draft.xlsx")
    result = grade_class([tmp_path / "down"], workers=1, variants=0, roster=roster)
    rows = list(csv.reader(io.StringIO(result.to_gradebook(lms))))
    column = 2 if lms == "canvas" else 0
    ana = [r for r in rows if r[column] == "s001"]
    assert len(ana) == 1, rows
    assert ana[0][-1 if lms == "canvas" else 2] == "100"
    if lms == "moodle":
        assert "2 files" in ana[0][3]
    assert len([r for r in rows if r[column] == "s002"]) == 1


def test_the_grade_table_lines_up_names_in_wide_and_combining_characters(tmp_path: Path) -> None:
    """Names in Chinese (two columns a character on a terminal), with an emoji, or with a
    combining accent pushed their row's score out of line with the others'."""
    import unicodedata

    from sheetgen import grade_class
    from sheetgen.report.terminal import display_width

    roster = tmp_path / "class.csv"
    names = ["李 小龍 🙂", unicodedata.normalize("NFD", "José Müller"), "Bo"]
    roster.write_text(
        "id,name\n" + "".join(f"s00{n},{name}\n" for n, name in enumerate(names, 1)),
        encoding="utf-8",
    )
    for n in (1, 2, 3):
        build(tmp_path / "down" / f"s00{n}" / "a.xlsx", "single_neuron")
    text = grade_class([tmp_path / "down"], workers=1, variants=0, roster=roster).to_text()
    rows = [line for line in text.splitlines() if "%" in line and "52 of 52" in line]
    assert len(rows) == 3
    ends = {display_width(line[: line.index("%") + 1]) for line in rows}
    assert len(ends) == 1, rows


def test_annotating_over_the_learners_own_file_is_not_told_to_pass_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`verify a.xlsx --annotate a.xlsx` said "already exists. Pass --force to overwrite it.";
    with --force it then said the copy must not overwrite the learner's workbook."""
    built = build(tmp_path / "a.xlsx", "single_neuron")
    before = built.read_bytes()
    assert main(["verify", str(built), "--annotate", str(built), "--variants", "0"]) == 2
    err = capsys.readouterr().err
    assert "learner's workbook" in err and "--force" not in err, err
    assert built.read_bytes() == before


def _bomb(path: Path) -> Path:
    """A workbook whose one part inflates to 2,000,007 bytes."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * 2_000_000 + b"</a>")
    return path


def test_the_web_page_tells_a_learner_who_can_raise_a_limit_not_a_flag_to_pass(
    tmp_path: Path,
) -> None:
    """A zip bomb uploaded to `sheetgen serve` was answered "a file you trust passes with
    --limit max_entry_bytes=…": a flag a learner on a web page cannot pass."""
    from sheetgen.serve import work
    from sheetgen.workbook.safety import configured_limits

    bomb = _bomb(tmp_path / "upload-1234.xlsx")
    job = {"do": "check", "path": str(bomb), "name": "mine.xlsx", "json": True, "variants": 0}
    answer = work.handle(job, configured_limits(["max_entry_bytes=1000000"]))
    said = answer["error"]
    assert answer["status"] == 422 and "mine.xlsx" in said and "zip bomb" in said
    assert "you trust passes" not in said and "teacher" in said, said
    assert "--limit max_entry_bytes=2000007" in said  # what the teacher would start it with


@pytest.mark.parametrize("command", ["grade", "build"])
def test_a_class_list_kept_as_a_workbook_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`--roster class.xlsx` (the class list as the school's system exports it) was an
    "internal error (Error: new-line character seen in unquoted field …)"."""
    import openpyxl

    roster = tmp_path / "class.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id", "name"])
    wb.active.append(["s001", "Ana"])
    wb.save(roster)
    built = build(tmp_path / "a.xlsx", "single_neuron")
    argv = {
        "grade": ["grade", str(built), "--variants", "0", "--workers", "1"],
        "build": ["build", "--exercise", "-o", str(tmp_path / "hand-out")],
    }[command]
    assert main([*argv, "--roster", str(roster)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "class.xlsx" in err and "CSV" in err, err
    assert err.count("\n") == 1


def test_a_roster_with_the_old_macs_line_ends_is_read() -> None:
    """Excel for Mac's "CSV (Macintosh)" ends lines with a bare carriage return: the roster
    was an "internal error (Error: new-line character seen in unquoted field …)"."""
    import tempfile

    from sheetgen.teacher.roster import read_roster

    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "class.csv"
        roster.write_bytes("id,name\rs001,Ana Núñez\rs002,Bo\r".encode("cp1252"))
        assert [(r.id, r.name) for r in read_roster(roster)] == [
            ("s001", "Ana Núñez"),
            ("s002", "Bo"),
        ]


def test_a_roster_that_is_no_table_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "class.csv"  # a field past the csv module's limit of 131,072
    roster.write_bytes(b"id,name\ns001," + b"A" * 200_000 + b"\n")
    built = build(tmp_path / "a.xlsx", "single_neuron")
    argv = ["grade", str(built), "--variants", "0", "--workers", "1", "--roster", str(roster)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "class.csv" in err, err


def test_a_data_file_with_the_old_macs_line_ends_trains_as_its_twin(tmp_path: Path) -> None:
    """`build training --data mac.csv` (lines ended by a bare carriage return) was refused:
    "its line 1 cannot be split into columns"."""
    xor = "x1,x2,target\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
    (tmp_path / "mac.csv").write_bytes(xor.replace("\n", "\r").encode())
    (tmp_path / "unix.csv").write_text(xor, encoding="utf-8")
    mac, unix = trained_cells(tmp_path, "mac", "unix")
    assert mac == unix


def test_the_api_answers_a_wrong_method_or_path_in_json() -> None:
    """A script's `GET /api/check` was answered "Method Not Allowed" and `/api/chek` "Not
    Found", in plain text, where every other answer of the API is JSON with its sentence."""
    from starlette.testclient import TestClient

    from sheetgen.serve.config import ServeConfig
    from sheetgen.serve.routes import create_app

    with TestClient(create_app(ServeConfig(workers=1))) as client:
        got = client.get("/api/check")
        assert got.status_code == 405 and got.headers["allow"] == "POST"
        assert got.json()["error"] == "/api/check takes POST, not GET."
        got = client.post("/api/chek")
        assert got.status_code == 404 and "/api/chek" in got.json()["error"]
        page = client.get("/nosuch")  # a page's answer stays a page's
        assert page.status_code == 404 and not page.headers["content-type"].startswith(
            "application/json"
        )


def test_two_files_of_one_learners_folder_are_told_apart(tmp_path: Path) -> None:
    """A draft beside the final in a learner's folder were listed as "Ana (s001)" twice:
    the teacher could not tell which row was which file."""
    from sheetgen import build_exercise, grade_class

    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns001,Ana\n", encoding="utf-8")
    build(tmp_path / "down" / "s001" / "final.xlsx", "single_neuron")
    build_exercise(tmp_path / "down" / "s001" / "draft.xlsx")
    result = grade_class([tmp_path / "down"], workers=1, variants=0, roster=roster)
    learners = sorted(r["learner"] for r in result.rows())
    assert learners == ["Ana (s001/draft.xlsx)", "Ana (s001/final.xlsx)"]


def test_the_grade_books_feedback_tells_a_learner_who_can_raise_a_limit(tmp_path: Path) -> None:
    """Moodle's feedback, written for the learner, said "a file you trust passes with
    --limit max_entry_bytes=…"."""
    import csv
    import io

    from sheetgen import grade_class
    from sheetgen.workbook.safety import configured_limits

    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns001,Ana\n", encoding="utf-8")
    _bomb(tmp_path / "down" / "s001" / "mine.xlsx")
    limits = configured_limits(["max_entry_bytes=1000000"])
    result = grade_class([tmp_path / "down"], workers=1, variants=0, roster=roster, limits=limits)
    (row,) = list(csv.reader(io.StringIO(result.to_gradebook("moodle"))))[1:]
    assert "you trust passes" not in row[3] and "your teacher can raise" in row[3], row
    assert "you trust passes" in result.to_csv()  # the teacher's own table keeps the option


def test_gradescopes_feedback_tells_a_learner_who_can_raise_a_limit(tmp_path: Path) -> None:
    """The autograder's output, which the learner reads, said "a file you trust passes with
    --limit …": a flag they cannot pass."""
    import zipfile

    from sheetgen.teacher.autograder import results_for

    (tmp_path / "submission").mkdir()
    with zipfile.ZipFile(tmp_path / "submission" / "mine.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as part:  # past the default 100 MB
            for _ in range(110):
                part.write(b" " * 1_000_000)
    output = str(results_for(tmp_path / "submission")["output"])
    assert "could not be checked" in output and "you trust passes" not in output, output
