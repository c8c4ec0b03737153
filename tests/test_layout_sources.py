"""A formula cell keeps its template's text only where its formula cannot say it.

A network's faux rows hold tens of thousands of formulas of a kilobyte each; the template's
text of each (``={h1_1.output}*{w2_1_1}+...``) is what the resolved formula says once each
address is named by its quantity. These tests hold what is worked out when asked to what the
template wrote, and the quantities each formula reads to those its template names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

import sheetgen.layouts.batch_training as batch_training
import sheetgen.layouts.grid as grid
import sheetgen.layouts.network as network
import sheetgen.layouts.network_training as network_training
import sheetgen.layouts.training as training
from sheetgen.layouts.families import resolve_layout
from sheetgen.layouts.layout import Layout, parse_layout, relocated
from sheetgen.layouts.reads import formula_reads

from .generated import generated_afresh
from .templated_faux_rows import TemplatedFauxRows, templated_neuron
from .templated_training_rows import (
    templated_blocks,
    templated_network_step_rows,
    templated_step_rows,
)

SPECS = [
    "network:layers=3-2-2,activation=sigmoid,faux=all",
    "network:layers=2-4-3,loss=cross-entropy,activation=relu",
    "training:steps=3",
    "training:layers=2-2-1,steps=2,optimizer=adam",
]


def _as_written(spec: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Layout, dict[str, str]]:
    """The layout of ``spec``, generated afresh, and the template of each formula its
    generator described, by address (a network's faux rows and the training steps, written
    resolved, written as templates: ``tests/test_network_faux_rows.py`` and
    ``tests/test_training_rows.py`` hold the two ways equal)."""
    seen: dict[str, str] = {}

    def recorded(describe: Callable[..., None]) -> Callable[..., None]:
        """``describe`` (``Grid.formula`` or ``Grid.later``), noting each template it is given."""

        def described(
            g: grid.Grid,
            column: int,
            row: int,
            quantity: str,
            formula: str,
            note: str | None = None,
        ) -> None:
            seen[grid.at(column, row)] = formula
            describe(g, column, row, quantity, formula, note)

        return described

    for method in ("formula", "later"):
        monkeypatch.setattr(grid.Grid, method, recorded(getattr(grid.Grid, method)))
    monkeypatch.setattr(network, "_FauxRows", TemplatedFauxRows)
    monkeypatch.setattr(network, "_neuron", templated_neuron)
    monkeypatch.setattr(training, "_step_rows", templated_step_rows)
    monkeypatch.setattr(network_training, "_step_rows", templated_network_step_rows)
    monkeypatch.setattr(batch_training, "_blocks", templated_blocks)
    return generated_afresh(spec), seen


@pytest.mark.parametrize("spec", SPECS)
def test_every_formula_says_its_template_as_written(
    spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, template = _as_written(spec, monkeypatch)
    cells = [c for c in layout.cells if c.formula is not None]
    assert len(cells) == len(template)
    quantity_at = layout.quantity_at()
    for c in cells:
        assert layout.source(c) == template[c.at]
        assert layout.source(c, quantity_at) == template[c.at]
    # Most are not kept (the point), and what a parameter's copy repeats is.
    assert sum(c.source is None for c in cells) > len(cells) // 2
    assert all(c.source is not None for c in cells if c.repeats_a_parameter)


def _layout(*formulas: tuple[str, str]) -> Layout:
    cells: list[dict[str, Any]] = [
        {"at": "A1", "quantity": "input", "input": True},
        {"at": "A2", "quantity": "weight", "input": True},
    ]
    cells += [{"at": f"C{i}", "quantity": q, "formula": f} for i, (q, f) in enumerate(formulas, 1)]
    return parse_layout({"cells": cells, "names": {"Tiny": "weight"}})


def test_a_formula_whose_text_looks_like_an_address_keeps_its_template() -> None:
    layout = _layout(
        ("a", "={input}*2+Tiny"),  # said: the addresses are the references, Tiny a name
        ("b", "=B7+{input}"),  # an address typed in the text: the formula cannot say which is which
        ("c", "={input}{weight}"),  # two references side by side read back as neither
        ("d", "=LOG10({input})+{weight}"),  # a function with digits is not an address
        ("e", "={input}"),  # a parameter's copy: CellSpec.repeats_a_parameter reads the template
        ("f", "={a}"),  # a copy of a computed cell
    )
    by = {c.quantity: c for c in layout.cells}
    assert by["a"].source is None and layout.source(by["a"]) == "={input}*2+Tiny"
    assert by["b"].source == "=B7+{input}" and layout.source(by["b"]) == "=B7+{input}"
    assert by["c"].source == "={input}{weight}"
    assert by["d"].source is None and layout.source(by["d"]) == "=LOG10({input})+{weight}"
    assert by["e"].source == "={input}" and by["e"].repeats_a_parameter
    assert by["f"].source is None and not by["f"].repeats_a_parameter
    reads = formula_reads(layout)
    assert (
        reads["a"] == ("input", "weight")
        and reads["b"] == ("input",)
        and reads["d"] == ("input", "weight")
    )


def _kept(layout: Layout) -> Layout:
    """``layout`` with every formula's template kept, as it was before any was let go."""
    at = layout.quantity_at()
    return replace(layout, cells=tuple(replace(c, source=layout.source(c, at)) for c in layout))


@pytest.mark.parametrize("spec", [*SPECS, "single_neuron", "network:layers=3-3-1,faux=2"])
def test_what_formulas_read_is_what_their_templates_read(spec: str) -> None:
    layout = resolve_layout(spec)
    assert dict(formula_reads(layout)) == dict(formula_reads(_kept(layout)))


def test_a_relocated_layout_says_its_templates_as_the_built_one_does() -> None:
    # Every cell moved with the table: each moved formula names the cells it reads where they
    # are now, so a template its built formula said is worked out when asked, none kept.
    layout = resolve_layout("network:layers=2-2-1,faux=all")
    where = {c.at: f"{c.at[0]}{int(c.at[1:]) + 1}" for c in layout.cells}
    moved = relocated(layout, where)
    said = 0
    for old, new in zip(layout.cells, moved.cells, strict=True):
        assert moved.source(new) == layout.source(old)
        assert new.source == old.source
        said += old.formula is not None and old.source is None
    assert said > 50
    assert dict(formula_reads(moved)) == dict(formula_reads(layout))


def test_a_moved_formula_reading_a_cell_left_out_keeps_its_template() -> None:
    # Its address of that cell stays as it was built, where another cell may be now: only its
    # template's text says what it reads.
    layout = resolve_layout("network:layers=2-2-1")
    gone = next(c for c in layout.cells if c.formula is not None and c.source is None)
    readers = [
        c for c in layout.cells if c.formula is not None and re.search(rf"\b{gone.at}\b", c.formula)
    ]
    assert readers
    where = {c.at: f"{c.at[0]}{int(c.at[1:]) + 1}" for c in layout.cells if c is not gone}
    moved = relocated(layout, where)
    kept = {c.quantity: c for c in moved.cells}
    for c in readers:
        new = kept[c.quantity]
        assert new.source is not None and new.source == layout.source(c)
        assert gone.at in (new.formula or "")
    assert dict(formula_reads(moved)) == {
        q: r for q, r in formula_reads(layout).items() if q != gone.quantity
    }


def _read_by_hand(layout: Layout) -> dict[str, tuple[str, ...]]:
    """What each formula reads, found apart: its template's references, then ``Tiny``."""
    out = {}
    for c in layout.cells:
        source = layout.source(c)
        if source is None or c.quantity is None:
            continue
        prefix = c.quantity.rsplit(".", 1)[0] + "." if "." in c.quantity else ""
        refs = [prefix + r[1:] if r[0] == "." else r for r in re.findall(r"\{([^}]+)\}", source)]
        if "Tiny" in layout.names and re.search(r"\bTiny\b", re.sub(r"\{[^}]*\}", " ", source)):
            refs.append("tiny")
        out[c.quantity] = tuple(dict.fromkeys(refs))
    return out


@pytest.mark.parametrize("spec", [*SPECS, "single_neuron", "network:layers=3-3-1,faux=2"])
def test_what_formulas_read_is_found_by_hand_too(spec: str) -> None:
    layout = resolve_layout(spec)
    reads = formula_reads(layout)
    by_hand = _read_by_hand(layout)
    assert list(reads) == list(by_hand) and len(reads) == len(by_hand)
    for q, expected in by_hand.items():
        assert q in reads and reads[q] == expected
        named = reads.named(q)
        assert len(named) == len(expected)
        assert tuple(named[i] for i in range(len(named))) == expected
    assert "no such quantity" not in reads
    with pytest.raises(KeyError):
        reads["no such quantity"]
    # A quantity without a formula (a parameter, a constant) reads nothing: it is not there,
    # though the reads are found by the number every quantity has.
    for c in layout.cells:
        if c.quantity is not None and c.formula is None:
            assert c.quantity not in reads and reads.get(c.quantity) is None
            with pytest.raises(KeyError):
                reads.named(c.quantity)


def test_a_quantity_left_off_a_moved_sheet_is_still_read() -> None:
    layout = resolve_layout("network:layers=2-2-1")
    gone = next(
        c
        for c in layout.cells
        if (c.quantity or "").count(".") == 1 and ".net" in (c.quantity or "")
    )
    assert gone.quantity is not None
    where = {c.at: c.at for c in layout.cells if c is not gone}
    reads = formula_reads(relocated(layout, where))
    output = gone.quantity.replace(".net", ".output")
    assert gone.quantity not in reads and gone.quantity in reads[output]
    assert reads[output] == formula_reads(layout)[output]
