"""The suspects of the robustness check: those found by the template's own formula (a cell
holding it, its addresses the layout's quantities) are those the general way finds, which
lists every cell's dependencies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from sheetgen.check.diagnose import suspected
from sheetgen.check.judge import check
from sheetgen.check.verify import find_layout
from sheetgen.engine.evaluate import Evaluator
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout, parse_layout
from sheetgen.workbook.book import Book
from sheetgen.writer.build import build_workbook, parameters


def _both(wb: openpyxl.Workbook, layout: Layout | None = None) -> tuple[frozenset[str], int]:
    """The suspects found with the shortcut (held equal to those without it), and how many
    cells' dependencies the shortcut still listed."""
    book = Book.of(wb)
    if layout is None:
        placement = find_layout(book, None, "learner.xlsx", None)[0]
        layout, sheet = placement.layout, placement.sheet
    else:
        found = book.sheet(layout.sheet)
        assert found is not None
        sheet = found
    ev = Evaluator(book)
    check(book, sheet, layout, evaluator=ev)  # as verify does: the cells computed first
    listed = 0
    general = ev.dependencies

    def counted(ref: tuple[str, str]) -> list[tuple[str, str]]:
        nonlocal listed
        listed += 1
        return general(ref)

    ev.dependencies = counted  # type: ignore[method-assign]
    fast = suspected(ev, sheet.title, layout)
    asked = listed
    assert fast == suspected(ev, sheet.title, layout, by_template=False)
    return fast, asked


def _built(spec: str, edits: Mapping[str, object] = {}) -> tuple[openpyxl.Workbook, Layout]:
    layout = resolve_layout(spec)
    wb = build_workbook(layout, parameters(layout, {}))
    for at, value in edits.items():
        wb[layout.sheet][at] = value
    return wb, layout


def test_a_right_network_is_judged_by_its_templates() -> None:
    wb, layout = _built("network:layers=2-2-1")
    found, listed = _both(wb, layout)
    assert found == frozenset()
    # The faux rows' formulas read Tiny, a name: listed; the others are not.
    assert 0 < listed < len(layout.checked) / 2


@pytest.mark.parametrize("spec", ["single_neuron", "network:layers=2-2-1"])
def test_wrong_and_rewritten_cells_are_suspects_as_by_their_dependencies(spec: str) -> None:
    wb, layout = _built(spec)
    cells = [c for c in layout.checked if c.formula]
    first, second, third, fourth = cells[1], cells[2], cells[-1], cells[-2]
    assert first.formula and second.formula and third.formula and fourth.formula
    edits = {
        first.at: first.formula.lower(),  # the same formula, in lower case
        second.at: second.formula.replace("=", "=0*ZZ9+", 1),  # reads a cell outside
        third.at: "=1.5",  # a typed number
        fourth.at: fourth.formula + "+0",  # another formula
    }
    wb, layout = _built(spec, edits)
    found, _ = _both(wb, layout)
    assert {second.at, third.at, fourth.at} <= found


@pytest.mark.parametrize("spec", ["single_neuron", "network:layers=2-2-1"])
def test_a_moved_sheet_is_judged_as_by_its_dependencies(spec: str) -> None:
    wb, layout = _built(spec)
    ws = wb[layout.sheet]
    ws.move_range(ws.dimensions, rows=3, cols=2, translate=True)
    found, _ = _both(wb)
    assert found == frozenset()


def test_a_name_pointing_elsewhere_makes_every_cell_a_suspect() -> None:
    wb, layout = _built("network:layers=2-2-1")
    wb[layout.sheet]["Z1"] = 0.001
    wb.defined_names["Tiny"] = DefinedName("Tiny", attr_text=f"'{layout.sheet}'!$Z$1")
    found, _ = _both(wb, layout)
    assert found == frozenset(c.at for c in layout.checked)


@pytest.mark.parametrize(
    ("template", "suspect"),
    [
        ("={x}*2", False),
        ("={x}*M5", True),  # a helper cell the template names: kept as the template
        ("={x}*m5", True),  # in lower case: the engine reads M5 all the same
        ("={x}*$M$5", True),
        ("={x}*Sheet2!B1", True),
        ("=SUM({x}:{y})*2", False),  # a range: its cells are listed
        ("=SUM({x}:M5)", True),
        ("={x}*{y}+Rate", True),  # a name the layout does not define
        ("={x}*{y}+RATE", True),
    ],
)
def test_a_template_naming_cells_of_its_own_is_judged_as_by_its_dependencies(
    template: str, suspect: bool, tmp_path: Path
) -> None:
    """Layouts whose templates read more than their quantities: the shortcut must not take
    them for the layout's own cells."""
    layout = parse_layout(
        {
            "name": "own",
            "sheet": "Own",
            "cells": [
                {"at": "A1", "quantity": "x", "input": True},
                {"at": "A2", "quantity": "y", "input": True},
                {"at": "B1", "quantity": "z", "formula": template},
            ],
        }
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Own"
    wb.create_sheet("Sheet2")["B1"] = 3.0
    ws["A1"], ws["A2"], ws["M5"] = 1.0, 2.0, 4.0
    (spec,) = layout.checked
    ws["B1"] = spec.formula
    wb.defined_names["Rate"] = DefinedName("Rate", attr_text="'Own'!$M$5")
    ev = Evaluator(wb)
    ev.fill([("Own", "B1")])
    fast = suspected(ev, "Own", layout)
    assert fast == suspected(ev, "Own", layout, by_template=False)
    assert fast == ({"B1"} if suspect else set())
