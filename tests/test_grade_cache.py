"""What a grade run shares between the books of a class (compiled formulas, each structure's
evaluation plan, the parts of the package scanned before) changes no verdict: the class graded
with it reads byte for byte as each book checked alone, with nothing kept from another."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import build, build_exercise, grade_class
from sheetgen.engine.compiled import FormulaCache
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import load_layout
from sheetgen.teacher import grade
from sheetgen.teacher.exercise import build_class
from sheetgen.workbook.safety import entries as scan

Make = Callable[..., Path]


def _moved(src: Path, dst: Path, rows: int, cols: int, edits: dict[str, str]) -> Path:
    """``src`` with rows or columns inserted before its table (formulas follow), then edited."""
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    ws.move_range(ws.dimensions, rows=rows, cols=cols, translate=True)
    for at, value in edits.items():
        ws[at] = value
    wb.save(dst)
    return dst


@pytest.fixture
def varied_class(make: Make, tmp_path: Path) -> Path:
    """Right, wrong, moved, unfinished and finished exercises, hand-outs of a roster, another
    layout, in an order that has the caches switch between structures."""
    folder = tmp_path / "class"
    folder.mkdir()
    edits: list[dict[str, object]] = [
        {},
        {"E3": "=1-F2"},
        {"E2": 0.8},
        {"F2": "=TANHH(E2)"},
        {"E3": "=1-F3^2", "F3": "=E3*H2"},
        {"E2": "=B2*0.5+D2"},
        {"F2": "=SINH(E2)"},
        {"M1": '=INDIRECT("B2")', "M2": '=HYPERLINK("http://x.example")'},  # never evaluated
    ]
    for i in range(16):
        path = make(f"learner{i:02d}", edits[i % len(edits)], input=0.1 + i / 20)
        path.rename(folder / path.name)
    article = build(tmp_path / "article.xlsx", input=0.4)
    _moved(article, folder / "row_inserted.xlsx", 1, 0, {})
    _moved(article, folder / "row_inserted_wrong.xlsx", 2, 1, {"G4": "=2*F4"})
    build_exercise(folder / "exercise_unfinished.xlsx", seed=1)
    done = build_exercise(folder / "exercise_done.xlsx", seed=2)
    wb = openpyxl.load_workbook(done)
    for spec in load_layout().checked:
        if spec.formula and wb.worksheets[0][spec.at].value is None:
            wb.worksheets[0][spec.at] = spec.formula
    wb.save(done)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,Ann Lee\n2,Bo Ek\n")
    build_class(roster, folder / "handouts", blanks="E3,C4")
    build(folder / "training.xlsx", resolve_layout("training:steps=3"))
    (folder / "not_a_workbook.xlsx").write_text("homework")
    return folder


def _timeless(value: Any) -> Any:
    """A class's JSON without when each book was checked and how long it took."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in ("timestamp", "seconds")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def test_a_class_graded_with_its_shared_caches_reads_as_without_them(
    varied_class: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:  # nothing kept from one book for the next
        m.setattr(grade, "FormulaCache", lambda: FormulaCache(keep=0))
        m.setattr(scan, "_SCANNED", scan._Scanned(most=0))
        alone = grade_class([varied_class], workers=1)
        assert len(scan._SCANNED) == 0
    scan._SCANNED.clear()
    shared = grade_class([varied_class], workers=1)
    assert len(scan._SCANNED) > 0
    assert len(shared.graded) >= 20
    for with_cache, without in zip(shared.graded, alone.graded, strict=True):
        assert with_cache.report == without.report, with_cache.path
        assert (with_cache.reason, with_cache.digest) == (without.reason, without.digest)
    forked = grade_class([varied_class], workers=2)  # the parent's caches, inherited
    for result in (shared, forked):
        for fmt in ("csv", "canvas", "moodle", "text"):
            assert result.render(fmt) == alone.render(fmt), fmt
        timed = re.compile(r' (time|timestamp)="[^"]*"')
        assert timed.sub("", result.render("junit")) == timed.sub("", alone.render("junit"))
        assert _timeless(json.loads(result.render("json"))) == _timeless(
            json.loads(alone.render("json"))
        )
    kinds = {c.status for g in alone.graded if g.report for c in g.report.cells}
    assert {"ok", "wrong", "typed", "todo"} <= kinds


def test_a_plan_is_shared_only_by_books_of_one_structure(make: Make) -> None:
    from sheetgen.check.verify import verify_workbook

    formulas = FormulaCache(plans=2)
    right = make("right", {}, input=0.2)
    other_inputs = make("other", {}, input=-0.7)
    wrong = make("wrong", {"E3": "=1-F2"}, input=0.2)
    first = verify_workbook(right, formulas=formulas)
    assert len(formulas._shared) == 1
    verify_workbook(other_inputs, formulas=formulas)
    assert len(formulas._shared) == 1  # the same formulas, other numbers: one plan
    wrong_report = verify_workbook(wrong, formulas=formulas)
    assert len(formulas._shared) == 2
    assert not wrong_report.ok and first.ok
    verify_workbook(make("third", {"F2": "=SINH(E2)"}), formulas=formulas)
    assert len(formulas._shared) <= 2  # bounded


def test_a_remembered_placement_is_the_one_worked_out_afresh(
    varied_class: Path, tmp_path: Path
) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    from sheetgen.check import locate
    from sheetgen.layouts.layout import available_layouts
    from sheetgen.workbook.safety import read_checked

    article = build(tmp_path / "plain.xlsx")
    wb = openpyxl.load_workbook(article)  # the same texts, Tiny pointing elsewhere
    wb.defined_names["Tiny"] = DefinedName("Tiny", attr_text="'Neuron'!$N$30")
    wb.worksheets[0]["N30"] = 1e-4
    wb.save(tmp_path / "tiny_moved.xlsx")
    wb.worksheets[0].title = "Mine"  # and the sheet renamed
    wb.save(tmp_path / "renamed.xlsx")
    paths = sorted(varied_class.rglob("*.xlsx"))
    paths += [article, tmp_path / "tiny_moved.xlsx", tmp_path / "renamed.xlsx"]
    layouts = [resolve_layout(name) for name in available_layouts()]
    layouts.append(resolve_layout("training:steps=3"))
    locate._PLACED.clear()
    compared = 0
    for _ in range(2):
        for path in paths:
            try:
                book = read_checked(path).book
            except Exception:
                continue
            for sheet in book.sheets:
                for layout in layouts:
                    assert locate.place(book, sheet, layout) == locate._place(book, sheet, layout)
                    compared += 1
    assert compared > 50 and len(locate._PLACED) > 0


def test_a_large_book_keeps_its_own_plan(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    from sheetgen.check.verify import verify_workbook
    from sheetgen.engine import plan

    formulas = FormulaCache()
    monkeypatch.setattr(plan, "SHARED_CELLS", 10)  # the article has more cells than this
    verify_workbook(make("big", {}), formulas=formulas)
    assert len(formulas._shared) == 0
    monkeypatch.undo()
    verify_workbook(make("small", {}), formulas=formulas)
    assert len(formulas._shared) == 1
