"""The built workbook: the article's sheet with live formulas, written safely."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheetgen import OutputExistsError, UsageError, build
from sheetgen.engine.evaluate import Evaluator
from sheetgen.layouts.layout import Layout

from .test_reference import ARTICLE_SHOWS, shown


def test_every_computed_cell_holds_a_live_formula(article: Path, layout: Layout) -> None:
    ws = openpyxl.load_workbook(article)[layout.sheet]
    for spec in layout.cells:
        value = ws[spec.at].value
        if spec.kind == "formula":
            assert value == spec.formula, spec.at
        elif spec.kind == "text":
            assert value == spec.text, spec.at
        elif spec.kind == "input":
            assert value == layout.defaults[spec.quantity or ""], spec.at


def test_engine_shows_the_articles_numbers_at_its_rounding(article: Path, layout: Layout) -> None:
    wb = openpyxl.load_workbook(article)
    values = Evaluator(wb).evaluate((layout.sheet, c.at) for c in layout.checked)
    for spec in layout.checked:
        text = ARTICLE_SHOWS[spec.quantity or ""]
        value = values[(layout.sheet, spec.at)]
        assert isinstance(value, float)
        assert shown(value, text) == text, spec.at


def test_tiny_is_a_workbook_name_the_faux_formulas_use(article: Path, layout: Layout) -> None:
    wb = openpyxl.load_workbook(article)
    dests = list(wb.defined_names["Tiny"].destinations)
    assert dests == [(layout.sheet, "$" + "$".join(_split(layout.by_quantity["tiny"].at)))]
    faux = [c for c in layout.checked if (c.quantity or "").endswith(".gradient")]
    assert len(faux) == 5
    assert all("Tiny" in (c.formula or "") for c in faux)


def _split(address: str) -> tuple[str, str]:
    i = next(i for i, ch in enumerate(address) if ch.isdigit())
    return address[:i], address[i:]


def test_parameters_are_written_into_the_input_cells(tmp_path: Path, layout: Layout) -> None:
    path = build(tmp_path / "p.xlsx", input=0.9, weight=-0.3, bias=0.1, target=-0.5, tiny=1e-6)
    ws = openpyxl.load_workbook(path)[layout.sheet]
    got = {c.quantity: ws[c.at].value for c in layout.inputs}
    assert got == {"input": 0.9, "weight": -0.3, "bias": 0.1, "target": -0.5, "tiny": 1e-6}


def test_refuses_to_overwrite_and_leaves_the_file_untouched(article: Path) -> None:
    before, stat = article.read_bytes(), article.stat()
    with pytest.raises(OutputExistsError, match="already exists") as refused:
        build(article, weight=0.1)
    assert "--force" not in str(refused.value)  # a library caller has no flags
    assert article.read_bytes() == before
    assert article.stat().st_mtime_ns == stat.st_mtime_ns


def test_force_overwrites_and_leaves_no_temporary_files(article: Path, layout: Layout) -> None:
    build(article, force=True, weight=0.25)
    assert (
        openpyxl.load_workbook(article)[layout.sheet][layout.by_quantity["weight"].at].value == 0.25
    )
    assert sorted(os.listdir(article.parent)) == [article.name]


def test_creates_the_output_folder(tmp_path: Path) -> None:
    assert build(tmp_path / "a" / "b" / "n.xlsx").is_file()


@pytest.mark.parametrize("bad", [{"tiny": 0.0}, {"weight": float("nan")}, {"bias": float("inf")}])
def test_unusable_parameters_are_refused(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        build(tmp_path / "x.xlsx", **bad)
    assert not (tmp_path / "x.xlsx").exists()
