"""Explanations that name the culprit: the typed constant in a formula, and the right parameter
in every row's hint."""

from __future__ import annotations

import math
import re
from pathlib import Path

import openpyxl
import pytest

from sheetgen import verify_workbook
from sheetgen.check.constants import typed_numbers
from sheetgen.check.hints import hint
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import CellSpec
from sheetgen.writer.build import build

_PARAMETER = re.compile(r"\b[wb]\d+(?:_\d+)+\b")
ERROR = f"{abs(math.tanh(0.4 * 0.5 + 0.6) - 0.7):.7f}"  # the article's |error| as a sheet shows it


def _edited(path: Path, spec: str, edits: dict[str, str]) -> Path:
    """The built sheet of ``spec`` with ``edits`` (quantity -> formula, ``{q}`` for a cell)."""
    layout = resolve_layout(spec)
    at = {q: c.at for q, c in layout.by_quantity.items()}
    build(path, layout)
    wb = openpyxl.load_workbook(path)
    for quantity, formula in edits.items():
        wb[layout.sheet][at[quantity]] = re.sub(r"\{([^}]+)\}", lambda m: at[m.group(1)], formula)
    wb.save(path)
    return path


def test_a_typed_rounded_copy_of_a_cell_is_named_with_that_cell(tmp_path: Path) -> None:
    """The issue's case: E4 = 0.559055*F4 is wrong by a hair; 0.559055 is E3 as shown."""
    layout = resolve_layout("single_neuron")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = _edited(
        tmp_path / "e4.xlsx", "single_neuron", {"global.net": "=0.559055*{global.output}"}
    )
    report = verify_workbook(path, variants=0)
    (root,) = report.roots
    assert root.cell == at["global.net"] and root.status == "wrong"
    assert "The typed 0.559055 in its formula is the problem" in root.explanation
    assert f"({at['local.net']} = 0.559055" in root.explanation
    assert f"refer to {at['local.net']} instead" in root.explanation


def test_a_typed_parameter_is_named_and_a_wrong_factor_is_pointed_at(tmp_path: Path) -> None:
    at = {q: c.at for q, c in resolve_layout("single_neuron").by_quantity.items()}
    path = _edited(
        tmp_path / "p.xlsx",
        "single_neuron",
        {"net": "={input}*0.5+{bias}", "loss": "={error}^2/3"},
    )
    cells = {c.cell: c for c in verify_workbook(path, variants=0).cells}
    net, loss = cells[at["net"]], cells[at["loss"]]
    assert net.status == "structure" and f"refer to {at['weight']} instead" in net.explanation
    assert "Check the number 3 typed in its formula" in loss.explanation
    right = verify_workbook(_edited(tmp_path / "r.xlsx", "single_neuron", {}), variants=0)
    assert all("typed" not in c.explanation for c in right.cells)


def test_a_typed_copy_is_called_the_problem_only_when_the_cell_fixes_it(tmp_path: Path) -> None:
    at = {q: c.at for q, c in resolve_layout("single_neuron").by_quantity.items()}
    path = _edited(
        tmp_path / "c.xlsx",
        "single_neuron",
        {
            # A negative value copied, minus sign and all: the reference in its place fixes it.
            "global.net": f"={{local.net}}*-{ERROR}",
            # 0.5 is the weight as shown, but the formula is wrong for another reason too.
            "net": "={input}*0.5+{bias}*1.1",
        },
    )
    cells = {c.cell: c for c in verify_workbook(path, variants=0).cells}
    assert f"The typed {ERROR} in its formula is the problem" in cells[at["global.net"]].explanation
    assert f"refer to {at['global.output']} instead" in cells[at["global.net"]].explanation
    net = cells[at["net"]].explanation
    assert "is the problem" not in net
    assert f"Its formula types 0.5, which is weight ({at['weight']} = 0.5) as shown" in net
    assert "Check the number 1.1 typed in its formula" in net


def test_typed_numbers_are_the_ones_the_template_does_not_type() -> None:
    assert typed_numbers("=1-F2^2", "=1-{output}^2") == []
    assert typed_numbers("=0.559055*F4") == [("0.559055", 0.559055)]
    assert typed_numbers("=(I9-I2)/1E-4+'Sheet 2'!A1+\"3.5\"") == [("1E-4", 1e-4)]
    assert typed_numbers("=H2^2/3", "={error}^2/2") == [("3", 3.0)]
    assert typed_numbers("=w1_1_1+B12*$C$3") == []


@pytest.mark.parametrize(
    "spec",
    [
        "network:layers=2-2-1",
        "network:layers=2-3-2",
        "network:layers=1-2-2-1",
        "training:steps=4",
        "training:layers=2-2-1,steps=4",
    ],
)
def test_every_row_hint_names_its_own_parameter(spec: str) -> None:
    """A hint names no weight or bias but the cell's own, and every faux row has one."""
    layout = resolve_layout(spec)
    specs = {c.at: c for c in layout.cells}
    for c in layout.checked:
        assert c.quantity is not None
        said = hint(c, specs)
        own = set(_PARAMETER.findall(c.quantity))
        if said is not None and not c.note:
            assert set(_PARAMETER.findall(said)) <= own, (c.quantity, said)
        if c.quantity.startswith("nudge.") and c.quantity.endswith(".gradient"):
            assert said is not None and own and own <= set(_PARAMETER.findall(said)), c.quantity


@pytest.mark.parametrize(
    "spec", ["network:layers=2-3-2", "training:layers=2-2-1,steps=4", "training:steps=4"]
)
def test_a_borrowed_hint_is_the_nearest_twin_above_it(spec: str) -> None:
    """``hint`` against the twins searched one by one: the last noted cell of the same shape
    (numbers aside), else of the same kind (parameters aside too), above the cell, else the
    first; its note renamed as ``hint`` renames a lone twin's."""
    layout = resolve_layout(spec)
    specs = {c.at: c for c in layout.cells}
    order = {c.quantity: i for i, c in enumerate(specs.values()) if c.quantity is not None}
    noted = [c for c in specs.values() if c.quantity is not None and c.note]

    def shape(q: str) -> str:
        return re.sub(r"\d+", "#", q)

    def kind(q: str) -> str:
        return shape(_PARAMETER.sub("P", q))

    def slow(c: CellSpec) -> str | None:
        assert c.quantity is not None
        for same in (shape, kind):
            found = [t for t in noted if same(t.quantity or "") == same(c.quantity)]
            above = [t for t in found if order[t.quantity or ""] < order[c.quantity]]
            if found:
                twin = above[-1] if above else found[0]
                return hint(c, {twin.at: twin, c.at: c})
        return None

    borrowed = [c for c in layout.checked if not c.note]
    assert len(borrowed) > 3
    assert [hint(c, specs) for c in borrowed] == [slow(c) for c in borrowed]


def test_the_network_faux_rows_of_the_issue_name_their_parameter(tmp_path: Path) -> None:
    """K25 (w2_1_1) and K27 (b2_1) of a 2-2-1 network, made wrong: each hint names its own."""
    path = _edited(
        tmp_path / "net.xlsx",
        "network:layers=2-2-1",
        {"nudge.w2_1_1.gradient": "=2*{nudge.w2_1_1.real}+1", "nudge.b2_1.gradient": "=7"},
    )
    cells = {c.quantity: c for c in verify_workbook(path, variants=0).cells}
    assert "Hint: Faux d loss / d w2_1_1:" in cells["nudge.w2_1_1.gradient"].explanation
    assert "Hint: Faux d loss / d b2_1:" in cells["nudge.b2_1.gradient"].explanation


def test_a_typed_value_of_several_cells_is_named_with_the_most_direct_one(tmp_path: Path) -> None:
    """0.7 is the target (a parameter) and each faux row's copy of it: the target is named."""
    layout = resolve_layout("single_neuron")
    at = {q: c.at for q, c in layout.by_quantity.items()}
    path = _edited(tmp_path / "t.xlsx", "single_neuron", {"loss": "=({output}-0.7)^2/2"})
    (root,) = verify_workbook(path, variants=0).roots
    assert root.cell == at["loss"]
    assert f"it is target ({at['target']} = 0.7) copied as a number" in root.explanation
    assert f"refer to {at['target']} instead" in root.explanation
    assert "Tiny)" not in root.explanation.split("Hint:")[0]
