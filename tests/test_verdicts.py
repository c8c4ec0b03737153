"""The verdicts as ``verify`` holds them (``sheetgen.check.results.Verdicts``): a right cell's as
its formula and two numbers, made into a ``CellResult`` only when asked for. Held equal to the
verdicts held whole, as every step of checking made them before, on right and wrong sheets."""

from __future__ import annotations

import dataclasses
import gc
import pickle
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import build, verify_workbook
from sheetgen.check import verify
from sheetgen.check.results import CellResult, Report, Verdicts, count_right, held_whole
from sheetgen.layouts.layout import Layout
from sheetgen.report.render import json_chunks, summary, to_text
from sheetgen.teacher.exercise import build_exercise

from .conftest import edit
from .moved import moved_down

_PROPERTIES = ("ok", "checked", "uncheckable", "review", "scored", "pending", "root", "cause")


def _eager(monkeypatch: pytest.MonkeyPatch, path: Path) -> Report:
    """``verify``'s report of ``path`` with every verdict held whole from the first step on:
    each step then goes its general way, verdict by verdict, as all verdicts once did."""
    checked = verify.check

    def whole(*args: Any, **kwargs: Any) -> Report:
        report = checked(*args, **kwargs)
        return dataclasses.replace(report, cells=Verdicts.of(tuple(report.cells)))

    with monkeypatch.context() as m:
        m.setattr(verify, "check", whole)
        return verify_workbook(path)


def _same_verdicts(lazy: Report, eager: Report) -> None:
    assert isinstance(lazy.cells, Verdicts)
    assert len(lazy.cells) == len(eager.cells)
    for a, b in zip(lazy.cells, eager.cells, strict=True):
        assert type(a) is CellResult
        for f in dataclasses.fields(CellResult):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert x == y and type(x) is type(y), (b.cell, f.name, x, y)
            if isinstance(x, float) and x == 0:  # a signed zero kept as it was
                assert str(x) == str(y)
        for name in _PROPERTIES:
            assert getattr(a, name) == getattr(b, name), (b.cell, name)
        assert a.holds == b.holds and a == b and hash(a) == hash(b) and repr(a) == repr(b)
    n = len(eager.cells)
    for i in (0, 1, n // 2, n - 1, -1, -n):
        assert lazy.cells[i] == eager.cells[i]
    for part in (slice(None), slice(2, 9), slice(None, None, 7), slice(-5, None), slice(9, 2)):
        assert lazy.cells[part] == tuple(eager.cells)[part]
        assert isinstance(lazy.cells[part], tuple)
    for i in (n, -n - 1):
        with pytest.raises(IndexError):
            lazy.cells[i]
    assert lazy.cells == tuple(eager.cells) and tuple(eager.cells) == lazy.cells
    assert lazy.cells == list(eager.cells) and lazy.cells != tuple(eager.cells)[:-1]
    # A tuple's ways, for a teacher's script that treated ``Report.cells`` as one.
    whole = tuple(eager.cells)
    assert hash(lazy.cells) == hash(whole)
    assert lazy.cells + whole[:2] == whole + whole[:2] and type(lazy.cells + whole[:0]) is tuple
    assert whole[:2] + lazy.cells == whole[:2] + whole and lazy.cells + lazy.cells == whole * 2
    assert lazy.cells.count(whole[-1]) == whole.count(whole[-1])
    assert lazy.cells.index(whole[-1]) == whole.index(whole[-1]) and whole[0] in lazy.cells
    assert list(lazy.cells.addresses()) == [c.cell for c in eager.cells]
    assert count_right(lazy.cells) == sum(1 for c in eager.cells if c.ok)
    assert [c.cell for c in held_whole(lazy.cells) if not c.ok] == [c.cell for c in eager.wrong]
    copied = pickle.loads(pickle.dumps(lazy.cells))  # a worker's report, sent to grade
    assert type(copied) is tuple and copied == tuple(eager.cells)
    for name in ("ok", "exit_code", "wrong", "todo", "waiting", "attention", "roots", "review"):
        assert getattr(lazy, name) == getattr(eager, name), name
    for root in eager.roots:
        assert lazy.inherited_from(root.cell) == eager.inherited_from(root.cell)
    assert (lazy.warnings, lazy.blanks, lazy.parameters) == (
        eager.warnings,
        eager.blanks,
        eager.parameters,
    )
    assert summary(lazy) == summary(eager)
    for short in (True, False):
        assert to_text(lazy, short=short) == to_text(eager, short=short)
    assert to_text(lazy, only_wrong=True) == to_text(eager, only_wrong=True)
    assert "".join(json_chunks(lazy)) == "".join(json_chunks(eager))


def _exercise_half_done(tmp_path: Path) -> Path:
    """An exercise with its first blank filled in right and the others still to do."""
    from sheetgen.check.diagnose import recorded_todo
    from sheetgen.layouts.families import resolve_layout

    path = build_exercise(tmp_path / "ex.xlsx", seed=3)
    wb = openpyxl.load_workbook(path)
    blanks = sorted(recorded_todo(wb))
    lay = resolve_layout("single_neuron")
    spec = next(c for c in lay.checked if c.at == blanks[0])
    wb.worksheets[0][spec.at] = spec.formula
    out = tmp_path / "ex_half.xlsx"
    wb.save(out)
    return out


SHEETS: dict[str, Callable[[Path, Layout], Path]] = {
    "article": lambda d, lay: build(d / "a.xlsx"),
    "wrong": lambda d, lay: edit(
        build(d / "a.xlsx"), d / "w.xlsx", lay, {"local.net": "=1-{output}^3", "loss": 0.5}
    ),
    # Right, by another formula than the template's: a suspect, re-evaluated under other inputs.
    "rewritten": lambda d, lay: edit(
        build(d / "a.xlsx"), d / "r.xlsx", lay, {"local.input": "=1*{weight}"}
    ),
    "fragile": lambda d, lay: edit(
        build(d / "a.xlsx"), d / "f.xlsx", lay, {"weight": 0.5, "local.input": "=2*{weight}-0.5"}
    ),
    # Right, from a formula that refers to no cell: typed, once diagnosed.
    "typed": lambda d, lay: edit(
        build(d / "a.xlsx"), d / "t.xlsx", lay, {"weight": 0.5, "local.input": "=0.5"}
    ),
    "exercise": lambda d, lay: build_exercise(d / "ex.xlsx", seed=3),
    "exercise_half": lambda d, lay: _exercise_half_done(d),
    "network_exercise": lambda d, lay: build_exercise(
        d / "nx.xlsx", "network:layers=2-3-1", seed=3
    ),
    "network": lambda d, lay: build(d / "n.xlsx", "network:layers=2-3-1"),
    "network_moved": lambda d, lay: moved_down(build(d / "n.xlsx", "network:layers=2-3-1")),
    "training": lambda d, lay: build(d / "t.xlsx", "training:steps=4"),
}


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_verdicts_held_as_numbers_equal_those_held_whole(
    name: str, tmp_path: Path, layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = SHEETS[name](tmp_path, layout)
    judged: list[int] = []
    checked = verify.check

    def counted(*args: Any, **kwargs: Any) -> Report:
        report = checked(*args, **kwargs)
        assert isinstance(report.cells, Verdicts)
        judged.append(report.cells.held_right)
        return report

    with monkeypatch.context() as m:
        m.setattr(verify, "check", counted)
        lazy = verify_workbook(path)
    eager = _eager(monkeypatch, path)
    assert isinstance(eager.cells, Verdicts) and eager.cells.held_right == 0
    _same_verdicts(lazy, eager)
    assert isinstance(lazy.cells, Verdicts)
    # Most right verdicts are held as numbers (a faux gradient's is judged whole), and stay so
    # through every step of the diagnosis, but one it re-evaluated or said something of.
    assert judged[0] >= 0.8 * sum(1 for c in eager.cells if c.ok and c.edited) - 2
    assert lazy.cells.held_right >= judged[0] - 1, (lazy.cells.held_right, judged)


def test_a_right_verdict_costs_a_few_bytes(tmp_path: Path) -> None:
    """A 1,000-step training run's 14,000 verdicts: each right one held as a formula (the
    book's own string) and two numbers, 33 bytes a cell with the lists' spare room; a
    ``CellResult`` each and a tuple of them took 96."""
    from sheetgen.check.judge import check
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.layouts.families import resolve_layout
    from sheetgen.workbook.book import Book

    layout = resolve_layout("training:steps=1000")
    book = Book.of(openpyxl.load_workbook(build(tmp_path / "t.xlsx", layout)))
    sheet = book.sheets[0]
    ev = Evaluator(book)
    first = check(book, sheet, layout, evaluator=ev)  # the values and reference: the evaluator's
    n = len(first.cells)
    assert first.ok and n >= 14_000
    del first
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = check(book, sheet, layout, evaluator=ev)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert report.ok and len(report.cells) == n
    assert held < 48 * n, held / n
