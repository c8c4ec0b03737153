"""Parts remembered between files (``safety.entries``): a file read after others of its
hand-out reads exactly as it does alone, and is refused exactly as it is alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import build, build_exercise
from sheetgen.errors import InputFileError
from sheetgen.layouts.families import resolve_layout
from sheetgen.workbook.safety import Limits, read_checked
from sheetgen.workbook.safety import entries as scan

from . import hostile


def _read(path: Path, limits: Limits) -> tuple[Any, ...]:
    """Everything reading ``path`` gives: the facts, every sheet's cells, names and notes, or
    the sentence and type of the refusal."""
    try:
        checked = read_checked(path, limits)
    except InputFileError as exc:
        return (type(exc).__name__, str(exc))
    book = checked.book
    sheets = [
        (s.title, sorted(s.cells.items()), sorted(s.names.items()), sorted(s.notes.items()))
        for s in book.sheets
    ]
    return (checked.facts, sheets, sorted(book.names.items()))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Sheets of one hand-out and of others, right, wrong, moved, unfinished and hostile."""
    folder = tmp_path_factory.mktemp("memo")
    article = build(folder / "article.xlsx", input=0.3)
    out = [article, build(folder / "other_inputs.xlsx", input=-1.2, weight=0.7)]
    wb = openpyxl.load_workbook(article)
    wb.active["E3"] = "=1-F2"
    wb.save(folder / "wrong.xlsx")
    wb.active.move_range("A1:K11", rows=2, cols=1, translate=True)
    wb.save(folder / "moved.xlsx")
    out += [folder / "wrong.xlsx", folder / "moved.xlsx"]
    out.append(build_exercise(folder / "exercise.xlsx", seed=3))
    out.append(build(folder / "training.xlsx", resolve_layout("training:steps=4")))
    out.append(build(folder / "network.xlsx", resolve_layout("network:layers=2-2-1")))
    out.append(hostile.valid_workbook(folder / "valid.xlsx"))
    out.append(hostile.xml_entity_bomb(folder))
    out.append(hostile.doctype_only(folder))
    out.append(hostile.external_link_workbook(folder))
    out.append(hostile.with_macros(folder))
    return out


@pytest.mark.parametrize(
    "limits",
    [
        Limits(),
        Limits(max_total_bytes=150_000),  # the article passes; larger sheets cross it
        Limits(max_xml_elements=400),
        Limits(max_cells=60),
    ],
    ids=["default", "total-bytes", "elements", "cells"],
)
def test_a_file_reads_after_others_exactly_as_alone(files: list[Path], limits: Limits) -> None:
    alone = []
    for path in files:
        scan._SCANNED.clear()
        alone.append(_read(path, limits))
    scan._SCANNED.clear()
    for _ in range(2):  # every part seen before, by this file or another
        assert [_read(path, limits) for path in files] == alone
    assert len(scan._SCANNED) > 0  # it was used
    assert any(isinstance(r[0], str) for r in alone)  # hostile files are in it, refused
    assert any(not isinstance(r[0], str) for r in alone)


def test_a_limit_crossed_in_remembered_parts_is_refused_as_without_them(tmp_path: Path) -> None:
    """B is A with a part in front: B's last parts, remembered from A, cross the limit."""
    parts = hostile.entries_of(build(tmp_path / "built.xlsx"))
    a = hostile.write_raw_zip(tmp_path / "a.xlsx", parts)
    pad = hostile.deflated("xl/pad.rels", b"<Relationships>" + b"<R/>" * 300 + b"</Relationships>")
    b = hostile.write_raw_zip(tmp_path / "b.xlsx", [pad, *parts])
    scan._SCANNED.clear()
    elements = read_checked(a).facts.xml_elements
    limits = Limits(max_xml_elements=elements + 300)  # A within, B one element past it
    scan._SCANNED.clear()
    alone = _read(b, limits)
    assert alone[0] == "UnsafeFileError" and "XML elements" in alone[1]
    scan._SCANNED.clear()
    assert not isinstance(_read(a, limits)[0], str)
    assert _read(b, limits) == alone


def test_a_part_remembered_under_one_limit_is_not_replayed_under_another(
    files: list[Path],
) -> None:
    scan._SCANNED.clear()
    article = files[0]
    assert not isinstance(_read(article, Limits())[0], str)
    tight = Limits(max_total_bytes=2_000)
    refusal = _read(article, tight)
    assert refusal[0] == "UnsafeFileError" and "in total" in refusal[1]
    scan._SCANNED.clear()
    assert _read(article, tight) == refusal


def test_the_memory_of_parts_is_bounded() -> None:
    memo = scan._Scanned(most=100)
    outcome = scan._Outcome((0,) * len(scan._COUNTERS), (), b"x" * 40)
    for i in range(10):
        memo.put(("part", i), outcome, 45)
        assert len(memo) <= 2
    memo.put(("big",), outcome, 101)  # larger than the whole memory: not kept
    assert memo.get(("big",)) is None
    few = scan._Scanned(entries=3)
    for i in range(10):
        few.put(("part", i), outcome, 1)
        assert len(few) <= 3


def test_parts_remembered_under_the_defaults_are_scanned_again_under_other_limits(
    files: list[Path],
) -> None:
    """A limit that ``_replayed`` does not add up (one item's text) is met only by a scan: a
    part remembered under other limits is never replayed under this one."""
    limits = Limits(max_text_chars=40)
    alone = []
    for path in files:
        scan._SCANNED.clear()
        alone.append(_read(path, limits))
    # openpyxl's copies keep their labels in the shared strings, a part that is remembered
    assert any(r[0] == "UnsafeFileError" and "in the workbook's shared text" in r[1] for r in alone)
    scan._SCANNED.clear()
    for path in files:
        _read(path, Limits())
        _read(path, replace(Limits(), max_cells=Limits().max_cells))  # equal, another object
    assert [_read(path, limits) for path in files] == alone


def test_a_scope_stands_for_equal_limits_and_readings_only() -> None:
    memo = scan._Scanned()
    first = memo.scope(Limits(), None)
    assert memo.scope(Limits(), None) == first  # equal limits, another object
    assert memo.scope(Limits(max_cells=60), None) != first
    assert memo.scope(Limits(), str.isupper) != first
    memo.clear()
    assert len(memo) == 0 and memo.scope(Limits(max_cells=60), None) == first
