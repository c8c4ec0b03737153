"""The layout description: complete, consistent with the reference, the article's formulas."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import sheetgen
from sheetgen.errors import TemplateError, UsageError
from sheetgen.layouts.families import FAMILIES, MODELS, Family, load, model_for, resolve_layout
from sheetgen.layouts.grid import Grid
from sheetgen.layouts.layout import Layout, available_layouts, load_layout, parse_layout
from sheetgen.maths.neuron import Neuron

GOLDEN = Path(__file__).parent / "golden"
PACKAGE = Path(sheetgen.__file__).parent


def test_article_formulas_are_exactly_the_articles(layout: Layout) -> None:
    """The resolved formulas, cell by cell, against a readable golden file."""
    lines = [f"{c.at} {c.formula}" for c in layout.cells if c.formula and not c.decoration]
    assert lines == (GOLDEN / "single_neuron.formulas.txt").read_text().splitlines()


def test_every_checked_quantity_is_one_the_reference_computes(layout: Layout) -> None:
    known = Neuron().quantities()
    for cell in layout.cells:
        if cell.quantity is not None and not cell.decoration:
            assert cell.quantity in known, cell.at


def test_tiny_is_a_defined_name_for_a_parameter_cell(layout: Layout) -> None:
    assert layout.names == {"Tiny": layout.by_quantity["tiny"].at}
    assert layout.by_quantity["tiny"].kind == "input"


def test_every_template_loads() -> None:
    assert "single_neuron" in available_layouts()
    for name in available_layouts():
        assert load_layout(name).cells


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([{"at": "A1", "text": "x"}, {"at": "A1", "text": "y"}], "described twice"),
        ([{"at": "A1", "quantity": "net", "formula": "={nope}"}], "unknown quantity 'nope'"),
        ([{"at": "Z", "text": "x"}], "not a cell address"),
        ([{"at": "A1", "quantity": "net"}], "needs one of"),
    ],
)
def test_malformed_templates_are_refused_with_a_reason(
    cells: list[dict[str, object]], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_layout({"cells": cells})


def test_unknown_layout_name_lists_the_known_ones() -> None:
    with pytest.raises(TemplateError, match="single_neuron"):
        load_layout("no_such_layout")


def test_no_cell_address_is_typed_in_the_package_code() -> None:
    """Addresses live in templates/ only: no string literal in code is a bare A1 address."""
    address = re.compile(r"^\$?[A-Z]{1,3}\$?[0-9]{1,7}$")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and address.match(node.value)
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.value}")
    assert offenders == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tables": [{"at": "A5", "rows": 2, "columns": [{"quantity": "x"}]}]}, "need {row}"),
        (
            {
                "tables": [
                    {"at": "A5", "rows": 2, "columns": [{"quantity": "t{row}", "values": [1]}]}
                ]
            },
            "needs 2 values",
        ),
        ({"charts": [{"anchor": "A5", "series": [{"x": "{nope}", "y": "{net}"}]}]}, "'nope'"),
        ({"charts": [{"anchor": "A5", "series": [{"x": "A1:A3", "y": "{net}"}]}]}, "look like"),
        ({"charts": [{"anchor": "A5"}]}, "at least one"),
    ],
)
def test_malformed_tables_and_charts_are_refused(extra: dict[str, object], message: str) -> None:
    cells = [{"at": "A1", "quantity": "net", "formula": "=1"}]
    with pytest.raises(TemplateError, match=message):
        parse_layout({"cells": cells, **extra})


def test_a_table_expands_to_rows_whose_formulas_stay_in_their_row() -> None:
    lay = parse_layout(
        {
            "cells": [{"at": "A1", "quantity": "step", "input": True}],
            "tables": [
                {
                    "at": "B3",
                    "rows": 3,
                    "decoration": True,
                    "columns": [
                        {"quantity": "t.{row}.k", "values": [-1, 0, 1]},
                        {"quantity": "t.{row}.x", "formula": "={.k}*{step}", "format": "0.0"},
                    ],
                }
            ],
        }
    )
    by = lay.by_quantity
    assert [by[f"t.{r}.x"].formula for r in range(3)] == ["=B3*A1", "=B4*A1", "=B5*A1"]
    assert by["t.2.k"].value == 1 and by["t.2.x"].format == "0.0"
    assert all(by[f"t.{r}.x"].decoration for r in range(3)) and not lay.checked


@pytest.mark.parametrize("target", [t for f in FAMILIES for t in (f.layout, f.usage)])
def test_every_family_function_the_registry_names_loads(target: str) -> None:
    assert callable(load(target))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_the_registry_names_loads(name: str) -> None:
    assert model_for({"model": name}) is load(MODELS[name])


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_each_family_refuses_an_option_it_does_not_list(family: Family) -> None:
    with pytest.raises(UsageError, match="no option 'colour'"):
        resolve_layout(f"{family.name}:colour=red")


def test_an_unknown_model_or_family_is_one_sentence() -> None:
    with pytest.raises(TemplateError, match="unknown model 'nope'"):
        model_for({"model": "nope"})
    with pytest.raises(TemplateError, match="Unknown layout family 'nope'"):
        resolve_layout("nope:x=1")


def test_the_registry_imports_no_family_until_one_is_named() -> None:
    """No registration by import side effect: listing the families loads none of them."""
    code = (
        "import sys\n"
        "from sheetgen.layouts.families import FAMILIES, resolve_layout\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('sheetgen.layouts.'))\n"
        "print(loaded())\n"
        "resolve_layout('network:layers=2-1')\n"
        "print(loaded())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = run.stdout.splitlines()
    assert before == "['sheetgen.layouts.families']"
    assert "sheetgen.layouts.network" in after and "sheetgen.layouts.neuron" not in after


def _grid_layout(g: Grid) -> Layout:
    return g.layout(
        name="grid", title="", sheet="Grid", description="", defaults={}, settings={}, spec="grid"
    )


def test_a_grid_resolves_its_cells_as_the_same_template_is_resolved() -> None:
    """A generated layout resolves each cell as it is described, and a formula that reads a
    cell described below it once that cell is: the cells are those the same entries, written
    as a template, resolve to, in the order described."""
    g = Grid()
    g.text(1, 1, "Title", "label")
    g.input(1, 2, "x", "An input.")
    g.later(2, 2, "y", "={x}*{z}", "Reads z, described below.")
    g.notes = False  # a repeated block's notes are left out
    g.value(1, 3, "z", 2, "Not kept.")
    g.formula(2, 3, "w", "={y}+{x}", "Not kept.")
    g.formula(3, 3, "v", "={x}")
    written = parse_layout(
        {
            "cells": [
                {"at": "A1", "text": "Title", "style": "label"},
                {"at": "A2", "quantity": "x", "input": True, "note": "An input."},
                {
                    "at": "B2",
                    "quantity": "y",
                    "formula": "={x}*{z}",
                    "note": "Reads z, described below.",
                },
                {"at": "A3", "quantity": "z", "value": 2.0},
                {"at": "B3", "quantity": "w", "formula": "={y}+{x}"},
                {"at": "C3", "quantity": "v", "formula": "={x}"},
            ]
        }
    )
    made = _grid_layout(g)
    assert made.cells == written.cells
    assert [c.formula for c in made.cells if c.formula] == ["=A2*A3", "=B2+A2", "=A2"]


@pytest.mark.parametrize(
    ("describe", "message"),
    [
        (lambda g: (g.input(1, 1, "x"), g.input(1, 1, "y")), "cell A1 is described twice"),
        (lambda g: (g.input(1, 1, "x"), g.input(1, 2, "x")), "quantity 'x' is in A1 and A2"),
        (lambda g: g.formula(1, 1, "y", "={nope}"), "grid: A1 refers to unknown quantity 'nope'"),
        (
            lambda g: g.later(1, 1, "y", "={nope}"),
            "grid: A1 refers to unknown quantity 'nope'",
        ),
    ],
)
def test_a_grids_malformed_cells_are_refused_with_a_reason(
    describe: Callable[[Grid], object], message: str
) -> None:
    g = Grid()
    with pytest.raises(TemplateError, match=message):
        describe(g)
        _grid_layout(g)
