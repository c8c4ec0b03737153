"""What a learner, a teacher and a teacher's script trip over, found by using an installed
wheel as they do (formulas rewritten the ways Excel 365 users write them, a class of six over
two assignments graded to every format, the web page, Gradescope): each test the smallest
reproducer of one problem."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import build, build_exercise, grade_class
from sheetgen.teacher.autograder import results_for

from .learner_views import moodle_feedback, web_page


def _no_layout(path: Path) -> Path:
    """A workbook a learner might hand in by mistake: their own homework, no layout in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    assert book.active is not None
    book.active["A1"] = "my homework"
    book.save(path)
    return path


def _gradescope(path: Path) -> str:
    said: str = results_for(path.parent)["output"]
    return said


@pytest.mark.parametrize("where", [_gradescope, web_page, moodle_feedback])
def test_a_learner_is_never_told_to_pass_layout(where: Any, tmp_path: Path) -> None:
    """On Gradescope (and the web page, and Moodle's feedback) a workbook that holds no layout
    was told to "name its layout with --layout SPEC (sheetgen templates lists them)": a
    learner passes no options and has no `sheetgen` to ask."""
    said = where(_no_layout(tmp_path / "submission" / "hw.xlsx"))
    assert "hw.xlsx" in said and "Neuron maths:" in said, said
    assert "--layout" not in said and "sheetgen templates" not in said, said
    assert "use the workbook you were given" in said, said


@pytest.mark.parametrize(("lms", "column"), [("canvas", 0), ("moodle", 1)])
def test_a_grade_book_names_learners_as_the_roster_does(
    tmp_path: Path, lms: str, column: int
) -> None:
    """A learner with a draft beside the final (and a stray copy of their hand-out in a folder
    of its own) was named "Chidi Okafor (s004/final.xlsx)" in Canvas's Student column and
    Moodle's Full name: a path in the grade book, where the roster's name belongs."""
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns004,Chidi Okafor\ns005,Dana Kim\n", encoding="utf-8")
    build(tmp_path / "down" / "s004" / "final.xlsx", "single_neuron")
    build_exercise(tmp_path / "down" / "s004" / "late-draft.xlsx")
    build(tmp_path / "down" / "s005" / "a.xlsx", "single_neuron")
    result = grade_class([tmp_path / "down"], workers=1, variants=0, roster=roster)
    rows = list(csv.reader(io.StringIO(result.to_gradebook(lms))))
    names = {r[column] for r in rows[1 if lms == "moodle" else 2 :]}
    assert names == {"Chidi Okafor", "Dana Kim"}, rows


def test_a_check_out_of_time_is_the_servers_limit_to_retry_not_the_learners_fault(
    tmp_path: Path,
) -> None:
    """A check that outlived `--check-seconds` (a data sheet of 60,000 cells takes about 15 s
    on a loaded server, against the default 20) was answered 422, "it took longer than the
    20 s a check may take": as if the file could not be checked, nothing said of what to do."""
    from starlette.testclient import TestClient

    from sheetgen.serve.config import ServeConfig
    from sheetgen.serve.pool import CheckPool
    from sheetgen.serve.routes import create_app

    slow = build(tmp_path / "slow.xlsx", "training:steps=200,optimizer=adam")
    files = {"file": ("slow.xlsx", slow.read_bytes(), "application/octet-stream")}
    (tmp_path / "class.csv").write_text("id,name\ns001,Ada\n", encoding="utf-8")
    (tmp_path / "codes.csv").write_text("id,name,code\ns001,Ada,ADA-111\n", encoding="utf-8")
    collect = ServeConfig(
        workers=1,
        collect=tmp_path / "in",
        roster=tmp_path / "class.csv",
        codes=tmp_path / "codes.csv",
        token="t" * 32,
    )
    answers = []
    for config, url, data in [
        (ServeConfig(workers=1), "/api/check", {}),
        (collect, "/api/submit", {"code": "ADA-111"}),
    ]:
        pool = CheckPool(1, 0, seconds=0.01, memory=900 * 1024 * 1024)
        with TestClient(create_app(config, pool=pool)) as client:
            answers.append(client.post(url, files=files, data=data))
    checked, handed_in = answers
    assert checked.status_code == 503, checked.text
    assert int(checked.headers["retry-after"]) >= 1
    said = checked.json()["error"]
    assert "\n" not in said, said
    for words in (
        "slow.xlsx",
        "0.01 s of computing",
        "nothing about your sheet",
        "again in a minute",
        "teacher",
    ):
        assert words in said, said
    assert "--check-seconds" in said, said
    # A hand-in out of time is stored all the same: trying again would use an attempt.
    assert handed_in.status_code == 200 and handed_in.json()["stored"] is True, handed_in.text
    assert "no need to hand it in again" in handed_in.json()["error"], handed_in.text


@pytest.mark.parametrize(
    "formula",
    [
        "=Params[[#This Row],[Input]]*Params[[#This Row],[Weight]]+Params[[#This Row],[Bias]]",
        "=Params[@Input]*Params[@Weight]+Params[@Bias]",
        "=SUMPRODUCT(Params[Input],Params[Weight])+SUM(Params[Bias])",
    ],
)
def test_a_reference_to_a_table_is_named_as_such_never_as_a_parser_error(
    tmp_path: Path, formula: str
) -> None:
    """The parameters made an Excel table (Insert > Table) and the net written with its column
    names: the learner read "E2 is not a formula the engine can read (('Not a valid
    formula:\\n%s', '=Params[[#This Row],[Input]]*…'))", the parser's own error tuple. Such a
    cell is not checked (the engine has no tables) and never wrong, and says why in words."""
    from openpyxl.worksheet.table import Table

    from sheetgen import verify_workbook

    book = openpyxl.load_workbook(build(tmp_path / "a.xlsx", "single_neuron"))
    sheet = book["Neuron"]
    sheet.add_table(Table(displayName="Params", ref="B1:I2"))
    sheet["E2"] = formula
    book.save(tmp_path / "table.xlsx")
    report = verify_workbook(tmp_path / "table.xlsx", variants=0)
    assert report.exit_code == 3 and not report.roots
    net = next(c for c in report.cells if c.cell == "E2")
    assert net.status == "uncomputed"
    said = f"{net.message} {net.explanation}"
    assert "table" in said and "Params[" in said, said
    assert "%s" not in said and "\n" not in said and "('" not in said, said


def test_a_check_kept_waiting_for_the_cpu_is_not_stopped_at_its_time_limit(tmp_path: Path) -> None:
    """`--check-seconds` was wall-clock time: a data sheet of 73,500 cells, 6.4 s of CPU for
    the page, took 18.5 s on a loaded machine, and a class checking at once pushed it past
    the 20 s limit, the learner told it could not be checked. The limit is the check's own
    CPU time (wall-clock time waiting for a core does not count), within 5 times it in all.
    Here the worker is stopped (SIGSTOP, as the scheduler leaves it waiting) for longer than
    the limit, then let go: its answer is given."""
    import asyncio
    import contextlib
    import os
    import signal
    import threading

    from sheetgen.serve.pool import CheckPool

    sheet = build(tmp_path / "a.xlsx", "single_neuron")
    pool = CheckPool(1, 0, seconds=2.0, memory=900 * 1024 * 1024)
    pool.start()
    try:
        pid = pool._all[0].process.pid
        os.kill(pid, signal.SIGSTOP)

        def let_go() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

        threading.Timer(3.0, let_go).start()  # past the limit on the clock
        job = {"do": "check", "path": str(sheet), "name": "a.xlsx"}
        answer = asyncio.run(pool.run(job))
        assert pool._all[0].process.pid == pid  # not killed and replaced
    finally:
        pool.close()
    assert "error" not in answer and answer["report"]["ok"] is True, answer


def test_each_learners_points_add_up_on_their_line_of_the_grade_table(tmp_path: Path) -> None:
    """A network hand-out half filled in read "30%  12 of 40  to do 20  cells wrong 0": 8
    points gone with no word of where. They were blanks filled in right that read a blank
    still empty (waiting: neither right nor wrong yet); the line now says so."""
    import openpyxl as xl

    from sheetgen.teacher.exercise import build_class

    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns002,Bo Li\n", encoding="utf-8")
    build_class(roster, tmp_path / "hand-out", layout="network:layers=2-2-1")
    handout = tmp_path / "hand-out" / "s002-Bo_Li.xlsx"
    key = xl.load_workbook(tmp_path / "hand-out-keys" / "s002-Bo_Li-key.xlsx").worksheets[0]
    book = xl.load_workbook(handout)
    sheet = book.worksheets[0]
    blanks = [c.coordinate for row in sheet.iter_rows() for c in row if c.value is None]
    blanks = [at for at in blanks if key[at].value is not None]
    for at in blanks[: len(blanks) // 2]:  # the first half, row by row, as a learner might
        sheet[at] = key[at].value
    book.save(tmp_path / "bo.xlsx")
    result = grade_class([tmp_path / "bo.xlsx"], workers=1, variants=0, roster=roster)
    row = result.rows()[0]
    waiting = row["points_possible"] - row["points"] - row["todo"] - row["wrong"]
    assert waiting > 0, row  # the case: points lost to cells waiting
    line = result.to_text().splitlines()[2]
    assert f"{row['todo']} + {waiting:g} waiting" in line, line
