"""Grading a class: many submissions, one call, one row each, whatever the files hold."""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from sheetgen import FormulaCache, build_exercise, grade, grade_class, score, verify_workbook
from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.layouts.families import resolve_layout
from sheetgen.report.render import to_dict
from sheetgen.teacher.grade import Graded, _run, grade_one

from . import hostile

Make = Callable[..., Path]

# What each kind of submission is, and what grading must say about it: (status, root cells).
KINDS: dict[str, tuple[dict[str, object], str, str]] = {
    "right": ({}, "ok", ""),
    "square_forgotten": ({"E3": "=1-F2"}, "wrong", "E3"),
    "typed_net": ({"E2": 0.8}, "wrong", "E2"),
    "pasted_formula": ({"C4": "=-0.00804"}, "wrong", "C4"),
    "formula_as_text": ({"H2": ("text", "=F2-G2")}, "wrong", "H2"),
    "circular": ({"E3": "=1-F3^2", "F3": "=E3*H2"}, "wrong", "E3 F3"),
    "unknown_function": ({"F2": "=TANHH(E2)"}, "wrong", "F2"),
    "tiny_zero": ({"B11": 0}, "wrong", "B11"),
    "hard_coded_weight": ({"E2": "=B2*0.5+D2"}, "wrong", "E2"),
}


def make_class(make: Make, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """About 30 submissions of every kind, plus unfinished, broken and hostile files."""
    expected: dict[str, tuple[str, str]] = {}
    for i in range(24):
        kind = list(KINDS)[i % len(KINDS)]
        edits, status, roots = KINDS[kind]
        name = f"learner{i:02d}_{kind}"
        make(name, edits, input=0.1 + i / 50)  # each learner has their own input
        expected[name] = (status, roots)
    for i in range(2):
        build_exercise(tmp_path / f"learner{24 + i}_unfinished.xlsx", seed=i)
        expected[f"learner{24 + i}_unfinished"] = ("to do", "")
    (tmp_path / "learner26_not_a_workbook.xlsx").write_text("my homework, in words")
    (tmp_path / "learner27_empty.xlsx").write_bytes(b"")
    (tmp_path / "learner28_zip_of_junk.xlsx").write_bytes(_zip({"hello.txt": b"hi"}))
    wb = openpyxl.Workbook()
    wb.active["A1"] = "nothing like the article"
    wb.save(tmp_path / "learner29_other_sheet.xlsx")
    (tmp_path / "bomb").mkdir()
    bomb = hostile.sheet_zip_bomb(tmp_path / "bomb")  # 1.1 GB inflated: never the batch's end
    bomb.rename(tmp_path / "learner30_zip_bomb.xlsx")
    shutil.rmtree(tmp_path / "bomb")  # the bomb's makings are no submission
    for name in (
        "26_not_a_workbook",
        "27_empty",
        "28_zip_of_junk",
        "29_other_sheet",
        "30_zip_bomb",
    ):
        expected[f"learner{name}"] = ("unreadable", "")
    (tmp_path / "~$learner00_right.xlsx").write_bytes(b"an Excel lock file, not a submission")
    return expected


def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_a_class_of_30_is_graded_in_one_call(make: Make, tmp_path: Path) -> None:
    expected = make_class(make, tmp_path)
    started = time.perf_counter()
    result = grade_class([tmp_path], workers=os.cpu_count())
    elapsed = time.perf_counter() - started
    out = result.write(tmp_path / "class.csv")
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 31 == len(expected)  # 30 learners and one zip bomb
    assert list(table["learner"]) == sorted(expected)  # the lock file is not a learner
    rows: list[Any] = list(table.itertuples())  # pandas rows: fields are the CSV's columns
    for row in rows:
        status, roots = expected[str(row.learner)]
        assert (row.status, row.root_cells) == (status, roots), row.learner
        if status == "ok":
            assert row.score == 100 and row.wrong == 0
        elif status == "unreadable":
            assert row.score == 0 and row.reason
        elif status == "to do":
            assert row.todo == 10 and row.wrong == 0 and row.score == 0  # only the blanks count
        else:
            assert row.wrong >= 1 and row.roots == len(roots.split()) and row.score < 100
    square: Any = table[table.learner.str.endswith("square_forgotten")].iloc[0]
    assert (square.right, square.wrong) == (47, 5)  # E3, then B4 C4 D4 E4 through E4 = E3*F4
    assert "Most common root causes" in result.to_text()
    assert result.to_csv() == result.table().to_csv(index=False)  # pandas' CSV, without pandas
    print(f"graded 30 workbooks in {elapsed:.2f}s")


@pytest.mark.parametrize(
    "column",
    [
        [52, 47, 0],
        [52.0, 47, 0],  # one float makes a float column: 47.0
        [None, 3, 4],  # a gap too: 3.0 and an empty cell
        [100.0, float("nan"), 1e-05, 1e16, float("inf")],
        ["a,b", None, 'say "x"', "", True],
        [None, None],
        [True, False],
    ],
)
def test_the_csv_writes_a_column_as_pandas_does(column: list[Any]) -> None:
    import csv

    from sheetgen.teacher.results import _csv_column

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["x"], *([c] for c in _csv_column(column))])
    assert buffer.getvalue() == pd.DataFrame({"x": column}).to_csv(index=False)


def test_grade_returns_a_dataframe_and_the_json_and_junit_agree(make: Make, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    files = [make("ok"), make("bad", {"E3": "=1-F2"}), broken]
    table = grade(files, workers=1, variants=0)
    assert list(table["status"]) == ["ok", "wrong", "unreadable"]
    assert "broken.xlsx" in table["reason"].iloc[2]
    result = grade_class(files, workers=1, variants=0)
    doc = json.loads(result.to_json())
    assert [f["learner"] for f in doc["files"]] == ["ok", "bad", "broken"]
    assert doc["files"][1]["report"]["roots"] == ["E3"] and doc["files"][2]["report"] is None
    suites = ET.fromstring(result.to_junit())
    assert suites.get("failures") == "5" and suites.get("errors") == "1"
    bad = suites.find("testsuite[@name='bad']")
    assert bad is not None
    failed = [case.get("name", "") for case in bad if case.find("failure") is not None]
    assert [n.split()[0] for n in failed] == ["E3", "B4", "C4", "D4", "E4"]


def test_one_formula_cache_serves_every_workbook_of_a_run(make: Make) -> None:
    files = [make("ok"), make("bad", {"E3": "=1-F2"}), make("also_ok", input=0.7)]
    formulas = FormulaCache()
    shared = [verify_workbook(files[0], variants=0, formulas=formulas)]
    known = len(formulas)
    shared += [verify_workbook(f, variants=0, formulas=formulas) for f in files[1:]]
    assert len(formulas) == known + 1  # only the learner's own =1-F2 is new
    alone = [verify_workbook(f, variants=0) for f in files]
    assert [to_dict(r) for r in shared] == [to_dict(r) for r in alone]  # the same verdicts


def test_a_shared_formula_cache_is_bounded_between_books(make: Make) -> None:
    book = make("a")
    for keep, kept in ((5, False), (50_000, True)):
        formulas = FormulaCache(keep=keep)
        verify_workbook(book, variants=0, formulas=formulas)
        held = len(formulas)
        assert held > 5  # nothing is dropped within a book
        formulas.compiled("=1+2")  # a text the book does not hold
        verify_workbook(book, variants=0, formulas=formulas)
        assert len(formulas) == held + kept  # past ``keep``, forgotten before the next book


def test_score_policy_equal_weight_per_checked_cell(make: Make) -> None:
    report = verify_workbook(make(edits={"E3": "=1-F2"}), variants=0)
    graded = [c for c in report.cells if c.graded]
    assert score(report) == pytest.approx(100 * (len(graded) - 5) / len(graded))
    only_roots = score(report, weight=lambda c: 1.0 if c.root or c.ok else 0.0)
    assert only_roots < 100 and only_roots > score(report)


def _crash_on_poison(path: str, formulas: FormulaCache | None = None) -> Graded:
    if "poison" in path:
        os._exit(3)  # as a segfault in a C library would
    assert formulas is not None and len(formulas) > 0  # the run's, compiled before the fork
    return grade_one(path, variants=0, formulas=formulas)


def test_a_file_that_kills_its_worker_does_not_stop_the_batch(make: Make) -> None:
    files = [str(make(f"a{i}")) for i in range(3)] + [str(make("poison"))]
    files += [str(make(f"b{i}")) for i in range(2)]
    results = list(_run(_crash_on_poison, files, workers=2, formulas=FormulaCache()))
    assert [Path(g.path).stem for g in results] == [Path(f).stem for f in files]
    by_name = {g.learner: g for g in results}
    assert by_name["poison"].report is None and "died" in (by_name["poison"].reason or "")
    assert all(g.report is not None and g.report.ok for n, g in by_name.items() if n != "poison")


def test_a_run_over_workers_leaves_the_collector_as_it_found_it(make: Make) -> None:
    """The run freezes what it imported before forking, and thaws only what it froze."""
    files = [str(make(f"a{i}")) for i in range(3)]
    assert gc.get_freeze_count() == 0
    assert all(g.report is not None for g in _run(grade_one, files, 2, FormulaCache()))
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a host's own frozen objects stay frozen (less any freed meanwhile)
    try:
        assert gc.get_freeze_count() > 0
        assert all(g.report is not None for g in _run(grade_one, files, 2, FormulaCache()))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_grade_class_reports_progress_to_its_callback(make: Make) -> None:
    """The hook the command's tqdm counter (sheetgen.progress, tested there) hangs on."""
    files = [make("a"), make("b")]
    calls: list[tuple[int, int, str]] = []
    grade_class(
        files, workers=1, variants=0, progress=lambda d, t, g: calls.append((d, t, g.learner))
    )
    assert [(d, t) for d, t, _ in calls] == [(1, 2), (2, 2)]
    assert sorted(name for _, _, name in calls) == ["a", "b"]


def test_cli_grade(make: Make, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = make("ok")
    assert main(["grade", str(ok), "--variants", "0", "--workers", "1"]) == 0
    assert "1 all right" in capsys.readouterr().out
    bad = make("bad", {"E3": "=1-F2"})
    report = tmp_path / "out.xml"
    assert main(["grade", str(ok), str(bad), "-o", str(report), "--workers", "1"]) == 1
    assert ET.parse(report).getroot().get("failures") == "5"
    assert main(["grade", str(ok), "-o", str(report)]) == 2  # exists: refused
    assert main(["grade", str(ok), "-o", str(tmp_path / "out.pdf")]) == 2
    # A path that does not exist is a mistake in the command (exit 2), not a learner's row.
    assert main(["grade", str(tmp_path / "missing.xlsx"), "--workers", "1"]) == 2
    assert main(["grade", str(tmp_path / "missing_dir"), "--workers", "1"]) == 2
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert main(["grade", str(empty)]) == 2
    with pytest.raises(UsageError):
        grade_class([empty])


def test_grade_warms_up_with_the_collector_resting_and_checks_books_as_it_was(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's start (imports, the engine's warm-up) runs with few collections; the
    books, here and in the forked workers, with the collector's own thresholds (they leave
    cycles behind: memory stays bounded over a large class)."""
    import sheetgen.teacher.grade as grading

    seen: dict[str, tuple[int, int, int]] = {}
    warm_up, grade_class = grading.warm_up, grading.grade_class

    def watched_warm_up(*args: Any, **kwargs: Any) -> None:
        seen.setdefault("warm-up", gc.get_threshold())
        warm_up(*args, **kwargs)

    def watched_grade_class(*args: Any, **kwargs: Any) -> Any:
        seen["books"] = gc.get_threshold()
        return grade_class(*args, **kwargs)

    monkeypatch.setattr(grading, "warm_up", watched_warm_up)
    monkeypatch.setattr(grading, "grade_class", watched_grade_class)
    was = gc.get_threshold()
    files = [str(make("ok")), str(make("bad", {"E3": "=1-F2"}))]
    assert main(["grade", *files, "-q", "-o", str(tmp_path / "g.csv")]) == 1
    assert seen["warm-up"][0] >= 100_000 and seen["books"] == was == gc.get_threshold()
    rows = (tmp_path / "g.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [r.split(",")[-4] for r in rows[1:]] == ["ok", "wrong"]


def test_a_book_is_read_once_its_hash_and_records_of_the_bytes_checked(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file replaced on disk while it is graded (a learner handing in again, a sync
    client): the report, the hash and the records are all of the bytes that were read."""
    import hashlib

    from sheetgen.teacher.provenance import read_found
    from sheetgen.workbook.safety.files import read_input

    first = build_exercise(tmp_path / "first.xlsx", seed=3)  # a hand-out: it has records
    second = make("second")  # other bytes, no records

    def read_then_replaced(path: Path, limits: Any) -> bytes:
        data = read_input(path, limits)
        shutil.copyfile(second, path)
        return data

    before = first.read_bytes()
    monkeypatch.setattr("sheetgen.teacher.scoring.read_input", read_then_replaced)
    graded = grade_one(str(first), variants=0)
    assert graded.report is not None and graded.report.blanks  # the hand-out was checked
    assert graded.digest == hashlib.sha256(before).hexdigest()
    assert graded.recorded == read_found(before).properties != ()
    assert first.read_bytes() == second.read_bytes()  # replaced meanwhile


def test_one_worker_and_two_give_the_same_book(make: Make, tmp_path: Path) -> None:
    """The forked workers' path (the engine warmed up and inherited, results sent back in
    chunks) and the in-process one agree, row for row, in every grade-book format."""
    files = [
        str(make(f"a{i}", {"E3": "=1-F2"} if i % 3 == 0 else {}, input=i / 7)) for i in range(7)
    ]
    files.append(str(build_exercise(tmp_path / "hand-out.xlsx", seed=2)))
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    files.append(str(tmp_path / "junk.xlsx"))
    one, two = (grade_class(files, workers=n, variants=0) for n in (1, 2))
    assert [g.digest for g in one.graded] == [g.digest for g in two.graded]
    assert one.rows() == two.rows() and len(one.rows()) == 9
    for fmt in ("csv", "canvas", "moodle", "text"):
        assert one.render(fmt) == two.render(fmt)
    assert [to_dict(g.report) if g.report else g.reason for g in one.graded] == [
        to_dict(g.report) if g.report else g.reason for g in two.graded
    ]


def test_the_text_summary_tells_points_from_the_other_cells_wrong(tmp_path: Path) -> None:
    """A blank wrong on a training hand-out drags along cells handed out filled: the text
    table gives the points out of the blanks apart from the count of every cell wrong, and
    says what each is, so that 15 points of 36 never reads beside "wrong 265" as one tally."""
    spec = "training:layers=2-2-1,examples=4,steps=2"
    layout = resolve_layout(spec)
    path = build_exercise(tmp_path / "ana.xlsx", spec, seed=1)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.sheet]
    blanks = [c for c in layout.cells if c.formula and ws[c.at].value is None]
    for c in blanks:
        ws[c.at] = c.formula
    first = layout.by_quantity["step1.example1.local.n2_1.net"]
    assert first in blanks
    ws[first.at] = "=1-" + layout.by_quantity["step1.example1.n2_1.output"].at  # no square
    wb.save(path)
    result = grade_class([path], workers=1, variants=0)
    row = result.rows()[0]
    assert row["wrong"] > row["points_possible"] == len(blanks) > row["points"] > 0
    result.rows()[0]["points"] = -1.0  # the rows are worked out once, each caller's a copy
    assert result.rows()[0] == row
    lines = result.to_text().splitlines()
    assert lines[0].split() == [
        "learner",
        "score",
        "points",
        "to",
        "do",
        "cells",
        "wrong",
        "fix",
        "first",
    ]
    cells = lines[2].split()
    assert cells[2:5] == [f"{row['points']:g}", "of", str(len(blanks))]
    assert cells[6] == str(row["wrong"]) and cells[7] == first.at
    assert "Points: one per scored cell that is right (an exercise's blanks" in lines[4]
    assert lines[5].startswith("Cells wrong: every cell that needs attention, scored or not")
