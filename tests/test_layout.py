"""The layout description: complete, consistent with the reference, the article's formulas."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import sheetgen
from sheetgen.errors import TemplateError
from sheetgen.layout import Layout, available_layouts, load_layout, parse_layout
from sheetgen.reference import Neuron

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
    for path in PACKAGE.glob("*.py"):
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
